package usage

import (
	"bytes"
	"strings"
)

// Format says how a body is framed, and so how a Counter reads it.
type Format uint8

// The formats a Counter reads; None bodies are passed by without a look.
const (
	None Format = iota
	JSON        // one JSON document (or a JSON array of them, as Gemini sends)
	SSE         // server-sent events whose data lines are JSON
)

// FormatOf picks the Format of a response from its Content-Type header.
func FormatOf(contentType string) Format {
	mt := contentType
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.TrimSpace(mt)
	switch {
	case strings.EqualFold(mt, "text/event-stream"):
		return SSE
	case strings.EqualFold(mt, "application/json"), len(mt) > 5 && strings.EqualFold(mt[len(mt)-5:], "+json"):
		return JSON
	}
	return None
}

// maxUsageObject bounds the bytes kept of one usage object; the real ones
// are a few hundred. A longer one is skipped and counted as malformed.
const maxUsageObject = 4 << 10

// Counter reads token usage out of a body fed to it piece by piece, in any
// split. The zero value reads nothing; use NewCounter or Reset.
type Counter struct {
	counterState
	js scanner
}

// counterState is all of a Counter but its scanner; Reset clears it.
type counterState struct {
	format    Format
	tokens    Tokens
	seen      bool
	malformed int

	// server-sent event framing
	lineStart bool    // the next byte begins a line
	lastCR    bool    // the previous byte was a CR, so an LF right after it ends nothing
	field     [5]byte // the start of the line, while it may still be "data:"
	fieldLen  int
	inData    bool // inside a data line's value
	skipLine  bool // inside a line that is not data
}

// NewCounter returns a Counter for a body in format f.
func NewCounter(f Format) *Counter {
	c := &Counter{}
	c.Reset(f)
	return c
}

// Reset readies c for a new body in format f, keeping its buffer.
func (c *Counter) Reset(f Format) {
	c.counterState = counterState{format: f, lineStart: true}
	c.js.reset()
}

// Tokens is the usage read so far.
func (c *Counter) Tokens() Tokens { return c.tokens }

// Seen reports whether any usage object was read.
func (c *Counter) Seen() bool { return c.seen }

// Malformed is how many usage objects could not be read (cut short, too
// long, or not numbers where counts belong).
func (c *Counter) Malformed() int { return c.malformed }

// Write feeds the next bytes of the body. It never fails and keeps no
// reference to p.
func (c *Counter) Write(p []byte) {
	switch c.format {
	case JSON:
		c.js.scan(c, p)
	case SSE:
		c.sse(p)
	}
}

// Finish says the body ended (or was abandoned): a usage object cut short
// counts as malformed.
func (c *Counter) Finish() {
	if c.js.capturing {
		c.malformed++
		c.js.capturing = false
	}
}

// sse splits p into lines and hands the values of data lines to the JSON
// scanner; a blank line ends an event, and with it the scanner's document.
func (c *Counter) sse(p []byte) {
	for len(p) > 0 {
		if c.inData || c.skipLine {
			i := indexEOL(p)
			if i < 0 {
				if c.inData {
					c.js.scan(c, p)
				}
				return
			}
			if c.inData && !c.idleLine(p, i) {
				c.js.scan(c, p[:i])
			}
			c.inData, c.skipLine = false, false
			c.endLine(p[i])
			p = p[i+1:]
			continue
		}
		b := p[0]
		if b == '\n' && c.lastCR {
			c.lastCR = false
			p = p[1:]
			continue
		}
		c.lastCR = false
		if b == '\n' || b == '\r' {
			if c.lineStart {
				c.endEvent()
			} else {
				c.skipLine = false // a line that ended while still matching "data:"
			}
			c.endLine(b)
			p = p[1:]
			continue
		}
		// Match the field name, byte by byte, across chunk boundaries.
		c.lineStart = false
		c.field[c.fieldLen] = b
		c.fieldLen++
		p = p[1:]
		if c.field[c.fieldLen-1] != "data:"[c.fieldLen-1] {
			c.skipLine = true
			c.fieldLen = 0
			continue
		}
		if c.fieldLen == len(c.field) {
			c.inData = true
			c.fieldLen = 0
		}
	}
}

func (c *Counter) endLine(b byte) {
	c.lineStart = true
	c.fieldLen = 0
	c.lastCR = b == '\r'
}

func (c *Counter) endEvent() {
	if c.js.capturing {
		c.malformed++
	}
	c.js.reset()
}

// idleLine reports whether the data line p[:i] can go unread: it is the
// whole of its event (the scanner has seen nothing of the event, and a
// blank line follows at once) and holds no "usage" or "usageMetadata"
// key, so reading it could change nothing before the scanner is reset. A
// model's text deltas take this path: one search instead of a byte-by-byte
// walk.
func (c *Counter) idleLine(p []byte, i int) bool {
	return p[i] == '\n' && i+1 < len(p) && p[i+1] == '\n' && c.js.fresh() && !bytes.Contains(p[:i], usageQuote)
}

var usageQuote = []byte(`"usage`)

// indexEOL is the index of p's first CR or LF, or -1.
func indexEOL(p []byte) int {
	i := bytes.IndexByte(p, '\n')
	head := p
	if i >= 0 {
		head = p[:i]
	}
	if j := bytes.IndexByte(head, '\r'); j >= 0 {
		return j
	}
	return i
}

// apply reads one complete usage object into the running counts. Each
// API family names its fields differently; the names do not collide. A
// count that is not a non-negative integer makes the whole object
// malformed, and none of it is taken.
func (c *Counter) apply(obj []byte) {
	t := c.tokens
	var candidates, thoughts int64
	gemini, bad := false, false
	parsed := readUsage(obj, func(key, parent []byte, v int64, ok bool) {
		var dst *int64
		switch string(parent) {
		case "":
			switch string(key) {
			case "input_tokens", "prompt_tokens", "promptTokenCount":
				dst = &t.Input
			case "output_tokens", "completion_tokens":
				dst = &t.Output
			case "cache_creation_input_tokens":
				dst = &t.CacheCreation
			case "cache_read_input_tokens", "cachedContentTokenCount":
				dst = &t.CacheRead
			case "candidatesTokenCount":
				dst, gemini = &candidates, true
			case "thoughtsTokenCount":
				dst, gemini = &thoughts, true
			}
		case "input_tokens_details", "prompt_tokens_details":
			if string(key) == "cached_tokens" {
				dst = &t.CacheRead
			}
		}
		switch {
		case dst == nil:
		case !ok:
			bad = true
		default:
			*dst = v
		}
	})
	if !parsed || bad {
		c.malformed++
		return
	}
	if gemini {
		t.Output = candidates + thoughts
	}
	c.tokens, c.seen = t, true
}
