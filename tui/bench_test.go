package tui

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// BenchmarkView renders a busy dashboard: 20 providers with countdowns and
// a full activity log, in colour, on a wide terminal. Goal: ≤ 500 µs/op.
func BenchmarkView(b *testing.B) {
	var st []auth.Status
	for i := range 20 {
		st = append(st, auth.Status{
			Provider: fmt.Sprintf("provider%02d", i), Authenticated: i%5 != 4, State: auth.StateOK,
			Email: fmt.Sprintf("user%02d@example.com", i), ExpiresAt: at(time.Duration(i*7) * time.Minute),
			AccessTokenPreview: "abcdefgh...12345678", LastRefresh: at(-time.Hour),
		})
	}
	ctx := b.Context()
	fb := newFakeBackend(st)
	m := New(ctx, Options{Backend: fb, Styles: ansi256Styles(), Clock: nil})
	nm, _ := m.Update(tea.WindowSizeMsg{Width: 140, Height: 40})
	m = nm.(Model)
	nm, _ = m.Update(statusesMsg{N: m.statusOp.N, List: st})
	m = nm.(Model)
	for i := range maxEntries {
		nm, _ = m.Update(authEventMsg{Event: auth.Event{Time: t0.Add(time.Duration(i) * time.Second),
			Provider: st[i%20].Provider, Kind: auth.RefreshSucceeded, Before: "abcd...wxyz", After: "efgh...stuv"}})
		m = nm.(Model)
	}
	if m.activity.Len() != maxEntries {
		b.Fatalf("log holds %d entries", m.activity.Len())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkTickUpdate is the other half of a countdown second: Update on a
// tick re-renders the table and details (View then only assembles).
func BenchmarkTickUpdate(b *testing.B) {
	var st []auth.Status
	for i := range 20 {
		st = append(st, auth.Status{Provider: fmt.Sprintf("provider%02d", i), Authenticated: true,
			State: auth.StateOK, ExpiresAt: at(time.Duration(i*7+1) * time.Minute), AccessTokenPreview: "abcdefgh...12345678"})
	}
	m := New(b.Context(), Options{Backend: newFakeBackend(st), Styles: ansi256Styles()})
	nm, _ := m.Update(tea.WindowSizeMsg{Width: 140, Height: 40})
	m = nm.(Model)
	nm, _ = m.Update(statusesMsg{N: m.statusOp.N, List: st})
	m = nm.(Model)
	b.ReportAllocs()
	for b.Loop() {
		m.tickN = 1
		nm, _ = m.Update(tickMsg{N: 1, Now: t0})
		m = nm.(Model)
	}
}
