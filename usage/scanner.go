package usage

// scanner walks JSON bytes just far enough to find usage objects: it tracks
// nesting, strings and which key each value belongs to, and copies out only
// the bytes of a usage object in an eligible place. It holds no other byte.
// Malformed input never stops it; at worst it finds nothing.
type scanner struct {
	scanState
	capture []byte // the usage object so far; in inline until it outgrows it
	// inline holds a usage object of the usual size, so that reading one
	// costs no allocation. capture points into it: a scanner (and so a
	// Counter) is used in place, never copied once it has read.
	inline [512]byte
}

// scanState is where the scanner is in its document; reset clears it.
type scanState struct {
	depth    int    // open objects and arrays
	arrays   uint64 // bit d: the container at depth d is an array
	body     uint64 // bit d: the object at depth d is a body or event (top level, or an element of a top-level array)
	inner    uint64 // bit d: the object at depth d is the "message" or "response" of a body object
	expect   bool   // in an object, before a key
	inString bool
	escape   bool

	readingKey bool
	key        [16]byte
	keyLen     int // bytes of the key read; > len(key) means too long to matter
	pending    keyKind

	capturing bool
	capDepth  int // depth of the usage object being copied
}

type keyKind uint8

const (
	keyOther  keyKind = iota
	keyUsage          // "usage" or "usageMetadata"
	keyParent         // "message" or "response"
)

// fresh reports whether the scanner is at the start of a document.
func (s *scanner) fresh() bool { return s.scanState == scanState{} }

func (s *scanner) reset() {
	s.scanState = scanState{}
	s.capture = s.capture[:0]
}

// startCapture begins copying a usage object, into inline unless an
// earlier one outgrew it.
func (s *scanner) startCapture() {
	if cap(s.capture) <= len(s.inline) {
		s.capture = s.inline[:0]
	}
	s.capture = append(s.capture[:0], '{')
}

func bit(d int) uint64 { return 1 << (uint(d) & 63) }

func (s *scanner) isArray(d int) bool { return d > 0 && d < 64 && s.arrays&bit(d) != 0 }

func (s *scanner) scan(c *Counter, p []byte) {
	for i := 0; i < len(p); i++ {
		b := p[i]
		if s.capturing {
			if len(s.capture) < maxUsageObject {
				s.capture = append(s.capture, b)
			} else {
				s.capturing = false
				c.malformed++
			}
		}
		if s.inString {
			if !s.readingKey && !s.capturing {
				// Fast path through string contents, where nothing matters
				// but the closing quote.
				j := i
				for j < len(p) && p[j] != '"' && p[j] != '\\' {
					j++
				}
				if j > i && !s.escape {
					i = j - 1
					continue
				}
			}
			switch {
			case s.escape:
				s.escape = false
			case b == '\\':
				s.escape = true
			case b == '"':
				s.inString = false
				if s.readingKey {
					s.readingKey = false
					s.pending = s.classify()
				}
			case s.readingKey:
				if s.keyLen < len(s.key) {
					s.key[s.keyLen] = b
				}
				s.keyLen++
			}
			continue
		}
		switch b {
		case ' ', '\t', '\n', '\r':
		case '"':
			s.inString = true
			if s.expect && !s.isArray(s.depth) {
				s.readingKey = true
				s.keyLen = 0
				s.expect = false
			} else {
				s.pending = keyOther
			}
		case ':':
			// the value of the pending key comes next
		case ',':
			s.expect = s.depth > 0 && !s.isArray(s.depth)
			s.pending = keyOther
		case '{', '[':
			s.open(c, b)
		case '}', ']':
			s.close(c)
		default:
			s.pending = keyOther
		}
	}
}

func (s *scanner) classify() keyKind {
	if s.keyLen > len(s.key) {
		return keyOther
	}
	switch string(s.key[:s.keyLen]) { // no allocation: the compiler compares in place
	case "usage", "usageMetadata":
		return keyUsage
	case "message", "response":
		return keyParent
	}
	return keyOther
}

func (s *scanner) open(c *Counter, b byte) {
	parent := s.depth
	key := s.pending
	s.pending = keyOther
	s.depth++
	d := s.depth
	if d < 64 {
		s.arrays &^= bit(d)
		s.body &^= bit(d)
		s.inner &^= bit(d)
	}
	if b == '[' {
		if d < 64 {
			s.arrays |= bit(d)
		}
		s.expect = false
		return
	}
	s.expect = true
	if d >= 64 || s.capturing {
		return
	}
	switch {
	case parent == 0, parent == 1 && s.isArray(1):
		s.body |= bit(d)
	case key == keyParent && s.body&bit(parent) != 0:
		s.inner |= bit(d)
	case key == keyUsage && (s.body|s.inner)&bit(parent) != 0:
		s.capturing = true
		s.capDepth = d
		s.startCapture()
	}
}

func (s *scanner) close(c *Counter) {
	if s.depth == 0 {
		return // stray closer: not JSON we understand; carry on
	}
	if s.capturing && s.depth == s.capDepth {
		s.capturing = false
		c.apply(s.capture)
	}
	s.depth--
	s.expect = false
	s.pending = keyOther
}
