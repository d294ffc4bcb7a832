package auth

import (
	"testing"
)

func TestBusSlowSubscriberNeverBlocks(t *testing.T) {
	b := NewBus()
	slow, cancelSlow := b.Subscribe(1)
	fast, cancelFast := b.Subscribe(10)
	defer cancelFast()

	for i := range 5 {
		// Publish returns at once even though slow is never read.
		b.Publish(Event{Provider: "demo", Kind: RefreshSucceeded, Message: string(rune('a' + i))})
	}
	if got := len(fast); got != 5 {
		t.Errorf("fast subscriber got %d events, want 5", got)
	}
	if got := (<-slow).Message; got != "a" {
		t.Errorf("slow subscriber kept %q, want the first event", got)
	}
	if d := b.Dropped(); d != 4 {
		t.Errorf("Dropped = %d, want 4", d)
	}

	cancelSlow()
	cancelSlow() // idempotent
	if _, open := <-slow; open {
		t.Error("cancelled subscription still open")
	}
	b.Publish(Event{Kind: LoggedOut}) // no panic on a closed subscriber
	if len(fast) != 6 {
		t.Errorf("fast subscriber missed an event after another cancelled")
	}
	var nilBus *Bus
	nilBus.Publish(Event{}) // a nil bus discards
}
