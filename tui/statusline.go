package tui

import (
	"fmt"

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
}

// statusLine is the top line: the program, the proxy, its counters.
func statusLine(com *Common, p proxyState, demo bool, filter string) string {
	st := com.Styles
	s := st.Title.Render("ccproxy-tui")
	if demo {
		s += " " + st.Warning.Render("[demo]")
	}
	s += "  "
	switch {
	case !p.Configured:
		s += st.Muted.Render("○ no proxy configured")
	case p.Busy && p.Running:
		s += st.Warning.Render("◐ proxy stopping…")
	case p.Busy:
		s += st.Warning.Render("◐ proxy starting…")
	case p.Running:
		s += st.Calm.Render("● proxy running at "+p.URL) +
			st.Muted.Render(fmt.Sprintf(" · %d requests · %d errors", p.Stats.Requests, p.Stats.Errors))
	default:
		s += st.Muted.Render("○ proxy stopped · p to start")
	}
	if filter != "" {
		s += st.Warning.Render("  /" + filter)
	}
	return clip(s, com.Width)
}
