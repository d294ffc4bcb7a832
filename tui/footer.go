package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/x/ansi"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// footerSep separates the keys of the footer; footerGap is the least room
// between what is on its left and the keys that always show.
const (
	footerSep = " • "
	footerGap = 3
)

// footerKeys are the keys the footer offers where the user is: opt are
// dropped from the end when the line is short, must always show (on the
// main screen `? help` and `q quit`; in a dialog its way out).
func (m Model) footerKeys() (opt, must []key.Binding) {
	k := m.com.Keys
	switch {
	case m.modal != nil:
		return m.modalHelp(), []key.Binding{k.Cancel}
	case m.filtering:
		return nil, []key.Binding{withDesc(k.Submit, "keep"), withDesc(k.Cancel, "clear")}
	case m.overlay == overlayHelp:
		return []key.Binding{k.Scroll, k.ForceQuit}, []key.Binding{k.Close}
	case m.overlay == overlayEnv:
		return []key.Binding{k.Scroll, k.Copy}, []key.Binding{k.Close}
	case m.overlay == overlayConfirmLogout:
		return nil, []key.Binding{withDesc(k.Yes, "log out"), withDesc(k.No, "keep")}
	case m.overlay == overlayEntry, m.overlay == overlayRequest:
		return []key.Binding{k.Scroll}, []key.Binding{k.Close}
	}
	sel, _ := m.table.SelectedStatus()
	var logins []key.Binding
	for _, f := range m.flows(sel.Provider) {
		switch f {
		case auth.FlowBrowser:
			logins = append(logins, withDesc(k.Login, "login"))
		case auth.FlowDevice:
			logins = append(logins, withDesc(k.DeviceLogin, "device login"))
		case auth.FlowPaste:
			logins = append(logins, withDesc(k.PasteLogin, "paste login"))
		}
	}
	// What the selected row needs most comes first: a login for a row
	// that has none, a refresh for one that has.
	opt = []key.Binding{k.Move}
	if sel.Authenticated {
		opt = append(opt, withDesc(k.Refresh, "refresh"))
		opt = append(opt, withDesc(k.Proxy, "proxy"), withDesc(k.Env, "env"))
		opt = append(opt, logins...)
	} else {
		opt = append(opt, logins...)
		opt = append(opt, withDesc(k.Proxy, "proxy"), withDesc(k.Env, "env"))
	}
	if m.focus == paneLog {
		opt = append([]key.Binding{withDesc(k.Details, "open line")}, opt...)
	}
	if m.focus == paneRequests {
		opt = append([]key.Binding{withDesc(k.Details, "open request"), withDesc(k.Requests, "activity")}, opt...)
	}
	opt = append(opt, k.Details, k.Focus, k.Filter)
	return opt, []key.Binding{k.Help, k.Quit}
}

// withDesc is b described for one dialog.
func withDesc(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

// footer is the bottom line: the last message or the keys that work here
// on the left, the keys that must always show on the right.
func (m Model) footer() string {
	st := m.com.Styles
	w := m.com.Width
	opt, must := m.footerKeys()
	right := keysText(st, must)
	room := w - ansi.StringWidth(right)
	if room < 0 {
		return clip(right, w)
	}
	var left string
	if m.filtering {
		m.filterIn.Width = max(room-footerGap-2, 1)
		left = m.filterIn.View()
	} else if m.flash != "" {
		msg := clip(m.flash, max(room-footerGap, 0))
		switch m.flashLevel {
		case levelError:
			left = st.Alarm.Render(msg)
		case levelWarn:
			left = st.Warning.Render(msg)
		default:
			left = st.Calm.Render(msg)
		}
	} else {
		// Whole keys only, as many as fit before the ones that must show.
		for i := len(opt); i >= 0; i-- {
			left = keysText(st, opt[:i])
			if ansi.StringWidth(left)+footerGap <= room {
				break
			}
		}
	}
	return fit(left, room) + right
}

// keysText renders bindings as "key desc • key desc".
func keysText(st *Styles, bs []key.Binding) string {
	var parts []string
	for _, b := range bs {
		if !b.Enabled() {
			continue
		}
		parts = append(parts, st.HelpKey.Render(b.Help().Key)+" "+st.HelpDesc.Render(b.Help().Desc))
	}
	return strings.Join(parts, st.HelpSep.Render(footerSep))
}

// flows are the login flows the provider offers; without a way to ask,
// all of them.
func (m Model) flows(provider string) []auth.Flow {
	if provider == "" {
		return nil
	}
	if m.opts.Flows == nil {
		return []auth.Flow{auth.FlowBrowser, auth.FlowDevice, auth.FlowPaste}
	}
	return m.opts.Flows(provider)
}
