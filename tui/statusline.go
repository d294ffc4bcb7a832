package tui

import (
	"fmt"

	"github.com/charmbracelet/x/ansi"

	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// proxyState is what the dashboard last learnt about the proxy, refreshed in
// Update so View never asks the proxy itself.
type proxyState struct {
	Configured bool
	Running    bool
	Busy       bool // a start or stop is under way
	URL        string
	Stats      proxy.Counters
	// ElsewherePID is the process serving URL when it is not this one
	// (a serve started earlier); zero when the proxy is ours.
	ElsewherePID int
	// LedgerLost counts the usage records the ledger dropped or failed to
	// write, from its last load; the status line says so while non-zero.
	LedgerLost int64
}

// statusLine is the top line: the program, the proxy, its counters. When
// the width is short, words go before the address does: the proxy's URL
// (with its port) is what a user copies from here.
func statusLine(com *Common, p proxyState, demo bool, filter string) string {
	st := com.Styles
	head := st.Title.Render("ccproxy-tui")
	if demo {
		head += " " + st.Warning.Render("[demo]")
	}
	var variants []string
	switch {
	case !p.Configured:
		variants = []string{st.Muted.Render("○ no proxy configured")}
	case p.Busy && p.Running:
		variants = []string{st.Warning.Render("◐ proxy stopping…")}
	case p.Busy:
		variants = []string{st.Warning.Render("◐ proxy starting…")}
	case p.Running && p.ElsewherePID != 0:
		whose := fmt.Sprintf(" · served by pid %d", p.ElsewherePID)
		variants = []string{
			st.Calm.Render("● proxy running at "+p.URL) + st.Muted.Render(whose),
			st.Calm.Render("● "+p.URL) + st.Muted.Render(fmt.Sprintf(" · pid %d", p.ElsewherePID)),
			st.Calm.Render("● " + p.URL),
		}
	case p.Running:
		counts := fmt.Sprintf(" · %d requests · %d errors", p.Stats.Requests, p.Stats.Errors)
		short := fmt.Sprintf(" · %d req · %d err", p.Stats.Requests, p.Stats.Errors)
		variants = []string{
			st.Calm.Render("● proxy running at "+p.URL) + st.Muted.Render(counts),
			st.Calm.Render("● proxy at "+p.URL) + st.Muted.Render(short),
			st.Calm.Render("● "+p.URL) + st.Muted.Render(short),
			st.Calm.Render("● " + p.URL),
		}
	default:
		variants = []string{st.Muted.Render("○ proxy stopped · p to start")}
	}
	tail := ""
	if p.LedgerLost > 0 {
		tail = st.Warning.Render(fmt.Sprintf("  %d not recorded", p.LedgerLost))
	}
	if filter != "" {
		tail += st.Warning.Render("  /" + filter)
	}
	for _, v := range variants {
		if s := head + "  " + v + tail; ansi.StringWidth(s) <= com.Width {
			return s
		}
	}
	last := variants[len(variants)-1]
	if s := last + tail; ansi.StringWidth(s) <= com.Width {
		return s
	}
	return clip(last+tail, com.Width)
}
