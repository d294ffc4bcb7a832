package usage

import "testing"

// BenchmarkEventWithoutUsage is the hot path: a text delta, which carries no
// usage, must cost no allocation.
func BenchmarkEventWithoutUsage(b *testing.B) {
	event := []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello there, \\\"general\\\" Kenobi. The usage of words.\"}}\n\n")
	chat := []byte("data: {\"id\":\"chatcmpl-AY8mK3y\",\"object\":\"chat.completion.chunk\",\"created\":1732705980,\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there!\"},\"finish_reason\":null}],\"usage\":null}\n\n")
	for _, bc := range []struct {
		name  string
		event []byte
	}{{"anthropic", event}, {"openai-chat", chat}} {
		b.Run(bc.name, func(b *testing.B) {
			c := NewCounter(SSE)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.event)))
			for b.Loop() {
				c.Write(bc.event)
			}
			if c.Seen() {
				b.Fatal("found usage in an event without any")
			}
		})
	}
}

// BenchmarkStream reads a whole recorded stream, usage events included.
func BenchmarkStream(b *testing.B) {
	body, _ := readFixture(b, "anthropic-stream.sse")
	c := NewCounter(SSE)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		c.Reset(SSE)
		c.Write(body)
	}
}
