package quota

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestReaderReusesOnlyIdenticalFreshHeaders(t *testing.T) {
	var r Reader
	h := headerFixture(t, "codex_reset_after.txt")
	first, ok := r.Read(h, fixtureNow)
	want, _ := ReadHeaders(h, fixtureNow)
	if !ok || !reflect.DeepEqual(first, want) {
		t.Fatalf("first read %+v, want ReadHeaders' %+v", first, want)
	}
	// The same headers half a second later: the same reading, observed now.
	later := fixtureNow.Add(500 * time.Millisecond)
	again, _ := r.Read(h, later)
	if !again.ObservedAt.Equal(later) || !again.Windows[0].ObservedAt.Equal(later) || again.Windows[0].UsedPercent != 77.5 {
		t.Errorf("reused reading %+v", again)
	}
	if first.Windows[0].ObservedAt.Equal(later) {
		t.Error("reuse changed the earlier snapshot's windows")
	}
	// A second later, reset-after-seconds means another reset time.
	much := fixtureNow.Add(2 * time.Second)
	fresh, _ := r.Read(h, much)
	if want, _ := ReadHeaders(h, much); !reflect.DeepEqual(fresh, want) {
		t.Errorf("after a second: %+v, want a fresh parse %+v", fresh, want)
	}
	// Another value is parsed, whatever the timing.
	h2 := h.Clone()
	h2.Set("X-Codex-Primary-Used-Percent", "78.5")
	if s, _ := r.Read(h2, much); s.Windows[0].UsedPercent != 78.5 {
		t.Errorf("a changed header reused the old reading: %+v", s)
	}
	if _, ok := r.Read(http.Header{"Content-Type": {"application/json"}}, much); ok {
		t.Error("a plain response read as quota")
	}
}

func TestReaderAllocs(t *testing.T) {
	var r Reader
	plain := headerFixture(t, "plain_openai.txt")
	if n := testing.AllocsPerRun(1000, func() { r.Read(plain, fixtureNow) }); n != 0 {
		t.Errorf("Read of a plain response allocates %v times", n)
	}
}

func BenchmarkReader(b *testing.B) {
	for _, file := range []string{"plain_openai.txt", "anthropic_max.txt", "codex_responses.txt"} {
		h := headerFixture(b, file)
		b.Run(file[:len(file)-4], func(b *testing.B) {
			var r Reader
			b.ReportAllocs()
			for b.Loop() {
				r.Read(h, fixtureNow)
			}
		})
	}
}
