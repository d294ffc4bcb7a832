package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// fetchStatuses asks the backend for every provider's status; the answer
// comes back tagged so an older, slower answer cannot overwrite a newer one.
func (m *Model) fetchStatuses() tea.Cmd {
	m.statusOp = m.next("")
	return m.statusesCmd(m.statusOp)
}

func (m Model) statusesCmd(op opID) tea.Cmd {
	b, ctx := m.opts.Backend, m.ctx
	return func() tea.Msg { return statusesMsg{N: op.N, List: b.Statuses(ctx)} }
}

// waitAuth returns the next auth event as a message; Update re-issues it.
func waitAuth(ctx context.Context, ch <-chan auth.Event) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-ch:
			if !ok {
				return eventsClosedMsg{}
			}
			return authEventMsg{Event: e}
		}
	}
}

// waitProxy returns the next proxy event as a message; Update re-issues it.
func waitProxy(ctx context.Context, ch <-chan proxy.Event) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-ch:
			if !ok {
				return eventsClosedMsg{Proxy: true}
			}
			return proxyEventMsg{Event: e}
		}
	}
}

// tickCmd fires once after d on clock, tagged n.
func tickCmd(ctx context.Context, clock clockwork.Clock, n uint64, d time.Duration) tea.Cmd {
	return func() tea.Msg {
		select {
		case <-ctx.Done():
			return nil
		case t := <-clock.After(d):
			return tickMsg{N: n, Now: t}
		}
	}
}

// toggleProxy stops a running proxy or starts a stopped one.
func (m Model) toggleProxy(running bool) tea.Cmd {
	p, ctx := m.opts.Proxy, m.ctx
	return func() tea.Msg {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if running {
			if err := p.Stop(cctx); err != nil {
				return proxyToggledMsg{Running: p.Running(), URL: p.URL(), Err: err}
			}
			return proxyToggledMsg{Running: false, URL: p.URL()}
		}
		// Start binds and returns; the server lives until Stop, so it gets
		// the dashboard's context, not the short one above.
		if err := p.Start(ctx); err != nil {
			return proxyToggledMsg{Running: p.Running(), URL: p.URL(), Err: err}
		}
		return proxyToggledMsg{Running: true, URL: p.URL()}
	}
}

// closeBrowser frees a browser login's callback port off the UI goroutine.
func closeBrowser(l BrowserLogin) tea.Cmd {
	if l == nil {
		return nil
	}
	return func() tea.Msg {
		_ = l.Close() // nothing to tell the user: the login is over either way
		return nil
	}
}
