package quota

import (
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReaderPassesOnOnlyWhatIsNew(t *testing.T) {
	var r Reader
	h := headerFixture(t, "codex_reset_after.txt")
	first, ok := r.Next("", h, fixtureNow)
	want, _ := ReadHeaders(h, fixtureNow)
	if !ok || !reflect.DeepEqual(first, want) {
		t.Fatalf("first read %+v, want ReadHeaders' %+v", first, want)
	}
	// The same headers half a second later say nothing new.
	if s, ok := r.Next("", h, fixtureNow.Add(500*time.Millisecond)); ok {
		t.Errorf("a repeat within the second was passed on: %+v", s)
	}
	// A second later they are read again: reset-after-seconds now means
	// another reset time, and the reading's age moves on.
	later := fixtureNow.Add(time.Second)
	fresh, ok := r.Next("", h, later)
	if want, _ := ReadHeaders(h, later); !ok || !reflect.DeepEqual(fresh, want) {
		t.Errorf("after a second: %+v, want a fresh parse %+v", fresh, want)
	}
	// A changed value is passed on at once.
	h2 := h.Clone()
	h2.Set("X-Codex-Primary-Used-Percent", "78.5")
	if s, ok := r.Next("", h2, later); !ok || s.Windows[0].UsedPercent != 78.5 {
		t.Errorf("a changed header was not passed on: %+v, %v", s, ok)
	}
	// Another account's identical numbers are its own news.
	if _, ok := r.Next("work", h2, later); !ok {
		t.Error("another account's reading was taken for a repeat")
	}
	if _, ok := r.Next("", http.Header{"Content-Type": {"application/json"}}, later); ok {
		t.Error("a plain response read as quota")
	}
}

func TestReaderAllocs(t *testing.T) {
	var r Reader
	plain := headerFixture(t, "plain_openai.txt")
	if n := testing.AllocsPerRun(1000, func() { r.Next("", plain, fixtureNow) }); n != 0 {
		t.Errorf("Next on a plain response allocates %v times", n)
	}
	repeat := headerFixture(t, "anthropic_max.txt")
	r.Next("", repeat, fixtureNow)
	if n := testing.AllocsPerRun(1000, func() { r.Next("", repeat, fixtureNow) }); n != 0 {
		t.Errorf("Next on a repeated reading allocates %v times", n)
	}
}

func BenchmarkReader(b *testing.B) {
	for _, file := range []string{"plain_openai.txt", "anthropic_max.txt", "codex_responses.txt"} {
		h := headerFixture(b, file)
		b.Run(file[:len(file)-4], func(b *testing.B) {
			var r Reader
			b.ReportAllocs()
			for b.Loop() {
				r.Next("", h, fixtureNow)
			}
		})
	}
}

// Responses that bring the same news at once pass it on once, and a
// header that is gone from the set is news too.
func TestReaderConcurrentNewsPassesOnce(t *testing.T) {
	var r Reader
	h := headerFixture(t, "anthropic_max.txt")
	var wg sync.WaitGroup
	var passed atomic.Int32
	for range 16 {
		wg.Go(func() {
			if _, ok := r.Next("", h, fixtureNow); ok {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := passed.Load(); n != 1 {
		t.Errorf("%d of 16 identical readings passed on, want 1", n)
	}
	fewer := h.Clone()
	for k := range fewer {
		if strings.HasSuffix(strings.ToLower(k), "-7d-utilization") {
			delete(fewer, k)
		}
	}
	if _, ok := r.Next("", fewer, fixtureNow); !ok {
		t.Error("a reading with a window gone was taken for a repeat")
	}
}
