package usage

import (
	"encoding/json"
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

	js scanner
}

// NewCounter returns a Counter for a body in format f.
func NewCounter(f Format) *Counter {
	c := &Counter{}
	c.Reset(f)
	return c
}

// Reset readies c for a new body in format f, keeping its buffer.
func (c *Counter) Reset(f Format) {
	buf := c.js.capture[:0]
	*c = Counter{format: f, lineStart: true}
	c.js.capture = buf
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
			if c.inData {
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

func indexEOL(p []byte) int {
	for i, b := range p {
		if b == '\n' || b == '\r' {
			return i
		}
	}
	return -1
}

// wireUsage is every usage field of every API family, pointers so that an
// absent field keeps the earlier value.
type wireUsage struct {
	// Anthropic; the Responses API shares input_tokens and output_tokens.
	InputTokens   *int64 `json:"input_tokens"`
	OutputTokens  *int64 `json:"output_tokens"`
	CacheCreation *int64 `json:"cache_creation_input_tokens"`
	CacheRead     *int64 `json:"cache_read_input_tokens"`
	// Responses API.
	InputDetails *struct {
		CachedTokens *int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	// OpenAI chat.
	PromptTokens     *int64 `json:"prompt_tokens"`
	CompletionTokens *int64 `json:"completion_tokens"`
	PromptDetails    *struct {
		CachedTokens *int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	// Gemini's usageMetadata.
	PromptTokenCount        *int64 `json:"promptTokenCount"`
	CandidatesTokenCount    *int64 `json:"candidatesTokenCount"`
	ThoughtsTokenCount      *int64 `json:"thoughtsTokenCount"`
	CachedContentTokenCount *int64 `json:"cachedContentTokenCount"`
}

// apply reads one complete usage object into the running counts.
func (c *Counter) apply(obj []byte) {
	var w wireUsage
	if err := json.Unmarshal(obj, &w); err != nil {
		c.malformed++
		return
	}
	t := c.tokens
	ok := true
	set := func(dst *int64, v *int64) {
		if v == nil {
			return
		}
		if *v < 0 {
			ok = false
			return
		}
		*dst = *v
	}
	set(&t.Input, w.InputTokens)
	set(&t.Output, w.OutputTokens)
	set(&t.CacheCreation, w.CacheCreation)
	set(&t.CacheRead, w.CacheRead)
	if w.InputDetails != nil {
		set(&t.CacheRead, w.InputDetails.CachedTokens)
	}
	set(&t.Input, w.PromptTokens)
	set(&t.Output, w.CompletionTokens)
	if w.PromptDetails != nil {
		set(&t.CacheRead, w.PromptDetails.CachedTokens)
	}
	set(&t.Input, w.PromptTokenCount)
	set(&t.CacheRead, w.CachedContentTokenCount)
	if w.CandidatesTokenCount != nil || w.ThoughtsTokenCount != nil {
		var out, thoughts int64
		set(&out, w.CandidatesTokenCount)
		set(&thoughts, w.ThoughtsTokenCount)
		t.Output = out + thoughts
	}
	if !ok {
		c.malformed++
		return
	}
	c.tokens, c.seen = t, true
}
