package usage

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtures are recorded response bodies of each API family, in the
// repository's top-level testdata folder.
var fixtures = []struct {
	file      string
	want      Tokens
	seen      bool
	malformed int
}{
	{"anthropic-messages.json", Tokens{Input: 12, Output: 27, CacheRead: 1536, CacheCreation: 2048}, true, 0},
	{"anthropic-tool-input.json", Tokens{Input: 431, Output: 92}, true, 0},
	{"anthropic-error.json", Tokens{}, false, 0},
	{"anthropic-stream.sse", Tokens{Input: 472, Output: 58, CacheRead: 13270}, true, 0},
	{"anthropic-stream-cumulative.sse", Tokens{Input: 3, Output: 89, CacheRead: 16384, CacheCreation: 480}, true, 0},
	{"anthropic-stream-crlf.sse", Tokens{Input: 20, Output: 9}, true, 0},
	{"anthropic-stream-abandoned.sse", Tokens{Input: 1200, Output: 2, CacheRead: 300}, true, 1},
	{"anthropic-stream-malformed.sse", Tokens{Output: 6}, true, 2},
	{"openai-chat.json", Tokens{Input: 1117, Output: 46, CacheRead: 1024}, true, 0},
	{"openai-chat-stream.sse", Tokens{Input: 2006, Output: 300, CacheRead: 1920}, true, 0},
	{"openai-chat-stream-no-usage.sse", Tokens{}, false, 0},
	{"openai-responses.json", Tokens{Input: 328, Output: 52, CacheRead: 128}, true, 0},
	{"openai-responses-stream.sse", Tokens{Input: 5120, Output: 210, CacheRead: 4864}, true, 0},
	{"gemini-stream.sse", Tokens{Input: 8, Output: 42}, true, 0},
	{"gemini.json", Tokens{Input: 11, Output: 3, CacheRead: 4}, true, 0},
}

func readFixture(t testing.TB, name string) ([]byte, Format) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "usage", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".sse") {
		return b, SSE
	}
	return b, JSON
}

type result struct {
	tokens    Tokens
	seen      bool
	malformed int
}

func count(f Format, chunks ...[]byte) result {
	c := NewCounter(f)
	for _, p := range chunks {
		c.Write(p)
	}
	c.Finish()
	return result{c.Tokens(), c.Seen(), c.Malformed()}
}

func TestFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			body, f := readFixture(t, fx.file)
			want := result{fx.want, fx.seen, fx.malformed}
			if got := count(f, body); got != want {
				t.Fatalf("whole body: %+v, want %+v", got, want)
			}
			// Split at every byte: usage split across chunks reads the same.
			for i := 1; i < len(body); i++ {
				if got := count(f, body[:i], body[i:]); got != want {
					t.Fatalf("split at %d (%q|%q): %+v, want %+v", i, tail(body[:i]), head(body[i:]), got, want)
				}
			}
			one := make([][]byte, len(body))
			for i := range body {
				one[i] = body[i : i+1]
			}
			if got := count(f, one...); got != want {
				t.Fatalf("byte by byte: %+v, want %+v", got, want)
			}
		})
	}
}

func head(b []byte) []byte { return b[:min(len(b), 20)] }
func tail(b []byte) []byte { return b[max(0, len(b)-20):] }

func TestFormatOf(t *testing.T) {
	for ct, want := range map[string]Format{
		"text/event-stream":                SSE,
		"text/event-stream; charset=utf-8": SSE,
		"Text/Event-Stream":                SSE,
		"application/json":                 JSON,
		"application/json; charset=utf-8":  JSON,
		"application/problem+json":         JSON,
		"text/html":                        None,
		"":                                 None,
		"application/octet-stream":         None,
	} {
		if got := FormatOf(ct); got != want {
			t.Errorf("FormatOf(%q) = %v, want %v", ct, got, want)
		}
	}
}

func TestNoneReadsNothing(t *testing.T) {
	body, _ := readFixture(t, "anthropic-messages.json")
	if got := count(None, body); got != (result{}) {
		t.Errorf("None counted %+v", got)
	}
}

func TestAnOversizedUsageObjectIsMalformed(t *testing.T) {
	body := `{"usage":{"input_tokens":5,"padding":"` + strings.Repeat("x", maxUsageObject) + `"},"id":"x"}`
	got := count(JSON, []byte(body))
	if got.seen || got.malformed != 1 {
		t.Errorf("oversized usage: %+v, want one malformed and nothing seen", got)
	}
}

func TestResetForgetsTheLastBody(t *testing.T) {
	body, _ := readFixture(t, "anthropic-stream.sse")
	c := NewCounter(SSE)
	c.Write(body[:len(body)/3]) // cut inside an event
	c.Reset(JSON)
	c.Write([]byte(`{"usage":{"input_tokens":1,"output_tokens":2}}`))
	c.Finish()
	if c.Tokens() != (Tokens{Input: 1, Output: 2}) || c.Malformed() != 0 {
		t.Errorf("after Reset: %+v malformed %d", c.Tokens(), c.Malformed())
	}
}

func TestBodyCountsWhatPassesAndKeepsTheReadError(t *testing.T) {
	body, _ := readFixture(t, "anthropic-stream.sse")
	cut := errors.New("connection reset by peer")
	r := io.MultiReader(bytes.NewReader(body[:len(body)/2]), &failingReader{cut})
	c := NewCounter(SSE)
	b := NewBody(io.NopCloser(r), c)
	got, err := io.ReadAll(b)
	if !errors.Is(err, cut) || !errors.Is(b.Err(), cut) {
		t.Fatalf("ReadAll err %v, Body.Err %v, want the cut", err, b.Err())
	}
	if !bytes.Equal(got, body[:len(body)/2]) || b.BytesRead() != int64(len(got)) {
		t.Errorf("passed %d bytes, counted %d, want %d", len(got), b.BytesRead(), len(body)/2)
	}
	_ = b.Close()
	if c.Tokens() != (Tokens{Input: 472, Output: 1, CacheRead: 13270}) {
		t.Errorf("a stream cut after message_start: %+v", c.Tokens())
	}
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestTokensTotalAndAdd(t *testing.T) {
	a := Tokens{Input: 1, Output: 2, CacheRead: 3, CacheCreation: 4}
	if a.Total() != 10 || a.Add(a) != (Tokens{2, 4, 6, 8}) {
		t.Errorf("Total %d Add %+v", a.Total(), a.Add(a))
	}
}

// FuzzCounter feeds arbitrary bodies in arbitrary splits: the counter must
// never panic, never report a negative count, and read the same whatever
// the split.
func FuzzCounter(f *testing.F) {
	for _, fx := range fixtures {
		body, _ := readFixture(f, fx.file)
		f.Add(body, uint64(7), strings.HasSuffix(fx.file, ".sse"))
	}
	f.Add([]byte(`data: {"usage":{"input_tokens":1}`+"\n\n"), uint64(1), true)
	f.Add([]byte(`}}}]]{"usage":{"usage":{}}}`), uint64(3), false)
	f.Fuzz(func(t *testing.T, body []byte, seed uint64, sse bool) {
		format := JSON
		if sse {
			format = SSE
		}
		want := count(format, body)
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		var chunks [][]byte
		for rest := body; len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		got := count(format, chunks...)
		if got != want {
			t.Fatalf("split into %d chunks: %+v, whole: %+v", len(chunks), got, want)
		}
		tk := got.tokens
		if tk.Input < 0 || tk.Output < 0 || tk.CacheRead < 0 || tk.CacheCreation < 0 {
			t.Fatalf("negative count %+v", tk)
		}
	})
}

// A new Counter reads a response's usage without allocating beyond
// itself: the proxy makes one per request.
func TestCounterReadsUsageWithoutAllocating(t *testing.T) {
	for _, file := range []string{"anthropic-messages.json", "openai-chat.json", "anthropic-stream.sse"} {
		body, format := readFixture(t, file)
		allocs := testing.AllocsPerRun(200, func() {
			c := NewCounter(format)
			c.Write(body)
			if !c.Seen() {
				t.Fatalf("%s: no usage read", file)
			}
		})
		if allocs > 1 {
			t.Errorf("%s: %v allocations a response, want the Counter's own", file, allocs)
		}
	}
}

// An event's JSON may span several data lines; a line without usage is
// only passed over when it is its event's whole payload.
func TestUsageAfterALineWithoutIt(t *testing.T) {
	for _, body := range []string{
		"data: {\"type\":\"message_delta\",\ndata: \"usage\":{\"output_tokens\":5}}\n\n",
		"data: {\"type\":\"ping\"}\n\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":5}}\n\n",
	} {
		if got := count(SSE, []byte(body)); got.tokens.Output != 5 || !got.seen {
			t.Errorf("%q: %+v, want 5 output tokens", body, got)
		}
	}
}
