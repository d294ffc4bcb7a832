package usage

// readUsage reads a usage object's counts without encoding/json: the
// object is small and flat (a few integer fields, and *_details objects
// of integers), and it is read once per response. f hears every field
// one level deep: its value when a non-negative integer (ok), or ok false
// for a string, fraction, boolean or negative number (null is absent, not
// heard). readUsage returns false for bytes that are not such an object.
func readUsage(obj []byte, f func(key, parent []byte, v int64, ok bool)) bool {
	p := wireParser{b: obj}
	return p.object(nil, f) && p.skipSpace() == len(p.b)
}

type wireParser struct {
	b []byte
	i int
}

func (p *wireParser) skipSpace() int {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
	return p.i
}

func (p *wireParser) peek() byte {
	if p.skipSpace() < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// object reads {"key": value, ...}, handing integer fields to f; parent
// is the key of the object it is in (nil at the top).
func (p *wireParser) object(parent []byte, f func(key, parent []byte, v int64, ok bool)) bool {
	if p.peek() != '{' {
		return false
	}
	p.i++
	if p.peek() == '}' {
		p.i++
		return true
	}
	for {
		key, ok := p.str()
		if !ok || p.peek() != ':' {
			return false
		}
		p.i++
		switch c := p.peek(); {
		case c == '{':
			if parent != nil { // deeper than the APIs nest their counts
				if !p.skipValue() {
					return false
				}
			} else if !p.object(key, f) {
				return false
			}
		case c >= '0' && c <= '9':
			start := p.i
			if v, ok := p.integer(); ok {
				f(key, parent, v, true)
				break
			}
			p.i = start
			if !p.skipValue() {
				return false
			}
			f(key, parent, 0, false)
		case c == 'n':
			if !p.skipValue() { // null: as if absent
				return false
			}
		default:
			if !p.skipValue() {
				return false
			}
			f(key, parent, 0, false)
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

// str reads a string without escapes (the keys we want have none) and
// returns its bytes; a string with escapes is read and returned as is.
func (p *wireParser) str() ([]byte, bool) {
	if p.peek() != '"' {
		return nil, false
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		switch p.b[j] {
		case '\\':
			j++
		case '"':
			p.i = j + 1
			return p.b[start:j], true
		}
	}
	return nil, false
}

// integer reads digits; a fraction or exponent makes it malformed.
func (p *wireParser) integer() (int64, bool) {
	var v int64
	j := p.i
	for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
		if v > (1<<62)/10 {
			return 0, false
		}
		v = v*10 + int64(p.b[j]-'0')
		j++
	}
	if j < len(p.b) && (p.b[j] == '.' || p.b[j] == 'e' || p.b[j] == 'E') {
		return 0, false // a fraction is not a count
	}
	p.i = j
	return v, true
}

// skipValue passes over any JSON value: strings, literals, numbers,
// nested objects and arrays.
func (p *wireParser) skipValue() bool {
	switch c := p.peek(); c {
	case '"':
		_, ok := p.str()
		return ok
	case '{', '[':
		depth := 0
		for p.i < len(p.b) {
			switch p.b[p.i] {
			case '"':
				if _, ok := p.str(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					p.i++
					return true
				}
			}
			p.i++
		}
		return false
	case 0:
		return false
	default:
		start := p.i
		for p.i < len(p.b) && p.b[p.i] != ',' && p.b[p.i] != '}' && p.b[p.i] != ']' && p.b[p.i] != ' ' && p.b[p.i] != '\n' {
			p.i++
		}
		return p.i > start
	}
}
