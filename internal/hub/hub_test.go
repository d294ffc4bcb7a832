package hub

import (
	"sync"
	"testing"
)

func TestDeliversToEverySubscriber(t *testing.T) {
	var h Hub[int]
	a, cancelA := h.Subscribe(4)
	b, cancelB := h.Subscribe(4)
	defer cancelA()
	defer cancelB()
	h.Publish(7)
	if got := <-a; got != 7 {
		t.Errorf("first subscriber got %d, want 7", got)
	}
	if got := <-b; got != 7 {
		t.Errorf("second subscriber got %d, want 7", got)
	}
	if d := h.Dropped(); d != 0 {
		t.Errorf("Dropped = %d, want 0", d)
	}
}

func TestSlowSubscriberDropsAndCounts(t *testing.T) {
	var h Hub[int]
	slow, cancelSlow := h.Subscribe(1)
	fast, cancelFast := h.Subscribe(8)
	defer cancelSlow()
	defer cancelFast()
	for i := range 5 {
		h.Publish(i)
	}
	if d := h.Dropped(); d != 4 {
		t.Errorf("Dropped = %d, want 4 (the slow buffer holds one of five)", d)
	}
	if got := <-slow; got != 0 {
		t.Errorf("slow subscriber kept %d, want the first event 0", got)
	}
	if len(fast) != 5 {
		t.Errorf("fast subscriber holds %d events, want all 5", len(fast))
	}
}

func TestCancelClosesOnceAndStopsDelivery(t *testing.T) {
	var h Hub[string]
	ch, cancel := h.Subscribe(0)
	cancel()
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("channel still open after cancel")
	}
	h.Publish("after")
	if d := h.Dropped(); d != 0 {
		t.Errorf("a cancelled subscriber counted %d drops", d)
	}
}

func TestNilHubDiscards(t *testing.T) {
	var h *Hub[int]
	h.Publish(1)
	if h.Dropped() != 0 {
		t.Error("nil hub counted a drop")
	}
}

func TestConcurrentPublishAndCancel(t *testing.T) {
	var h Hub[int]
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				h.Publish(i)
			}
		}()
	}
	for range 20 {
		_, cancel := h.Subscribe(2)
		cancel()
	}
	wg.Wait()
}
