package app

import (
	"context"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// TestBackgroundStartsAndStopsTheLoop checks the one start serve and the
// dashboard share: the refresh loop runs until StopLoop has ended it, and
// Close after it (or alone, or twice) ends it too and returns.
func TestBackgroundStartsAndStopsTheLoop(t *testing.T) {
	for _, name := range []string{"StopLoop then Close", "Close alone, twice"} {
		t.Run(name, func(t *testing.T) {
			a, err := New(Options{Config: config.Default(), Store: store.NewMemory()})
			if err != nil {
				t.Fatal(err)
			}
			bg, err := a.StartBackground(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-bg.done:
				t.Fatal("the refresh loop ended by itself")
			default:
			}
			if name == "StopLoop then Close" {
				bg.StopLoop()
				if a.running.Load() {
					t.Error("the loop still runs after StopLoop")
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := bg.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := bg.Close(ctx); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if a.running.Load() {
				t.Error("the loop still runs after Close")
			}
		})
	}
}
