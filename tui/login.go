package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/remote"
)

// startLogin opens the modal for flow and starts the login in the background.
func (m Model) startLogin(p string, flow auth.Flow) (tea.Model, tea.Cmd) {
	if p == "" || m.modal != nil {
		return m, nil
	}
	offered := m.flows(p)
	if !slices.Contains(offered, flow) {
		m.flash, m.flashLevel = fmt.Sprintf("%s has no %s login; %s", p, flow, m.offerText(offered)), levelWarn
		return m, nil
	}
	op := m.next(p)
	ctx, cancel := context.WithCancel(m.ctx)
	m.modal = newLoginModal(m.com, op, flow, ctx, cancel)
	if s, ok := remote.Detect(m.opts.Getenv); ok {
		m.modal.remote = &s
	}
	m.modal.canPaste = flow == auth.FlowBrowser && slices.Contains(offered, auth.FlowPaste)
	m.table = m.table.SetBusy(p, "logging in")
	b := m.opts.Backend
	var start tea.Cmd
	switch flow {
	case auth.FlowBrowser:
		start = func() tea.Msg {
			l, err := b.StartBrowserLogin(ctx, op.Provider)
			return browserStartedMsg{Op: op, Login: l, Err: err}
		}
	case auth.FlowPaste:
		start = func() tea.Msg {
			l, err := b.StartPasteLogin(ctx, op.Provider)
			return pasteStartedMsg{Op: op, Login: l, Err: err}
		}
	case auth.FlowDevice:
		// The show callback runs on the login's goroutine; it reaches the
		// model only through codes, read by a second command.
		codes := make(chan auth.DeviceCode, 1)
		run := func() tea.Msg {
			err := b.DeviceLogin(ctx, op.Provider, func(dc auth.DeviceCode) {
				select {
				case codes <- dc:
				default:
				}
			})
			return loginDoneMsg{Op: op, Err: err}
		}
		show := func() tea.Msg {
			select {
			case <-ctx.Done():
				return nil
			case dc := <-codes:
				return deviceCodeMsg{Op: op, Code: dc}
			}
		}
		start = tea.Batch(run, show)
	}
	cmd := tea.Batch(start, m.ensureAnim())
	return m, cmd
}

// modalKey handles keys while a login modal has the keyboard.
func (m Model) modalKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.com.Keys
	switch {
	case key.Matches(msg, k.ForceQuit):
		return m.quit()
	case key.Matches(msg, k.Cancel):
		p := m.modal.op.Provider
		closeCmd := closeBrowser(m.modal.Close())
		m.modal = nil
		m.table = m.table.SetBusy(p, "")
		m.activity = m.activity.Add(entry{Time: m.com.Now, Provider: p, Text: "login cancelled", Level: levelWarn})
		return m, closeCmd
	case msg.Type == tea.KeyPgUp || msg.Type == tea.KeyPgDown:
		return m.scrollPage(msg), nil
	}
	paste := m.modal.flow == auth.FlowPaste
	copyKey, openKey := k.Copy, k.Open
	if paste {
		copyKey, openKey = k.CopyInInput, k.OpenInInput
	}
	target := m.modal.target()
	switch {
	case key.Matches(msg, copyKey) && target != "":
		return m, m.clip.copy(m.ctx, "address", target)
	case key.Matches(msg, openKey) && target != "":
		return m, m.openTarget(target)
	case !paste && key.Matches(msg, k.SwitchPaste) && m.modal.canPaste:
		p := m.modal.op.Provider
		closeCmd := closeBrowser(m.modal.Close())
		m.modal = nil
		m.table = m.table.SetBusy(p, "")
		next, cmd := m.startLogin(p, auth.FlowPaste)
		return next, tea.Batch(closeCmd, cmd)
	case !paste && key.Matches(msg, k.Up, k.Down, k.Top, k.Bottom):
		return m.scrollPage(msg), nil
	}
	if !paste || m.modal.url == "" {
		return m, nil
	}
	if key.Matches(msg, k.Submit) {
		code := m.modal.input.Value()
		if code == "" || m.modal.pending {
			return m, nil
		}
		mod := *m.modal
		mod.pending = true
		m.modal = &mod
		op, pl, ctx := mod.op, mod.paste, mod.ctx
		return m, func() tea.Msg {
			return loginDoneMsg{Op: op, Err: pl.Complete(ctx, code)}
		}
	}
	mod := *m.modal
	var cmd tea.Cmd
	mod.input, cmd = mod.input.Update(msg)
	m.modal = &mod
	return m, cmd
}

// updateLogin handles the results of a login's background steps. A result
// for a login that is no longer on screen is dropped, and a callback port it
// still holds is freed.
func (m Model) updateLogin(msg tea.Msg) (tea.Model, tea.Cmd) {
	var want opID
	if m.modal != nil {
		want = m.modal.op
	}
	switch msg := msg.(type) {
	case browserStartedMsg:
		if !fresh(want, msg.Op) {
			if msg.Login != nil {
				return m, closeBrowser(msg.Login)
			}
			return m, nil
		}
		if msg.Err != nil {
			return m.loginFailed(msg.Err)
		}
		mod := *m.modal
		mod.browser, mod.url = msg.Login, msg.Login.URL()
		m.modal = &mod
		l, ctx, op, open := msg.Login, m.modal.ctx, msg.Op, m.opts.OpenBrowser
		wait := func() tea.Msg { return loginDoneMsg{Op: op, Err: l.Wait(ctx)} }
		opener := func() tea.Msg {
			if open == nil {
				return browserOpenedMsg{Op: op}
			}
			ok, err := open(l.URL())
			return browserOpenedMsg{Op: op, Opened: ok && err == nil}
		}
		return m, tea.Batch(wait, opener)
	case openedMsg:
		if fresh(want, msg.Op) {
			mod := *m.modal
			mod.note = "No browser opened here; copy the address with c instead."
			if msg.Opened {
				mod.note = "Opened the address in your browser."
			}
			m.modal = &mod
		}
		return m, nil
	case browserOpenedMsg:
		if fresh(want, msg.Op) {
			mod := *m.modal
			mod.tried, mod.opened = true, msg.Opened
			m.modal = &mod
		}
		return m, nil
	case pasteStartedMsg:
		if !fresh(want, msg.Op) {
			return m, nil
		}
		if msg.Err != nil {
			return m.loginFailed(msg.Err)
		}
		mod := *m.modal
		mod.paste, mod.url = msg.Login, msg.Login.URL()
		m.modal = &mod
		return m, nil
	case deviceCodeMsg:
		if !fresh(want, msg.Op) {
			return m, nil
		}
		mod := *m.modal
		dc := msg.Code
		mod.device = &dc
		m.modal = &mod
		cmd := m.ensureTick()
		return m, cmd
	case loginDoneMsg:
		if !fresh(want, msg.Op) {
			return m, nil
		}
		if msg.Err != nil {
			return m.loginFailed(msg.Err)
		}
		p := m.modal.op.Provider
		closeCmd := closeBrowser(m.modal.Close())
		m.modal = nil
		m.table = m.table.SetBusy(p, "")
		m.flash, m.flashLevel = "logged in to "+p, levelInfo
		cmd := tea.Batch(closeCmd, m.fetchStatuses())
		return m, cmd
	}
	return m, nil
}

// loginFailed closes the modal and says why in the footer and the log.
func (m Model) loginFailed(err error) (tea.Model, tea.Cmd) {
	p := m.modal.op.Provider
	closeCmd := closeBrowser(m.modal.Close())
	m.modal = nil
	m.table = m.table.SetBusy(p, "")
	text := m.describe("login", p, err)
	if errors.Is(err, context.Canceled) {
		text = fmt.Sprintf("login %s cancelled", p)
	}
	m = m.report(p, text)
	cmd := tea.Batch(closeCmd, m.fetchStatuses())
	return m, cmd
}

// modalHelp lists the keys that work inside the login modal, besides esc.
func (m Model) modalHelp() []key.Binding {
	k := m.com.Keys
	if m.modal == nil {
		return nil
	}
	if m.modal.flow == auth.FlowPaste {
		return []key.Binding{k.Submit, k.CopyInInput, k.OpenInInput, k.ForceQuit}
	}
	out := []key.Binding{withDesc(k.Copy, "copy address"), withDesc(k.Open, "open in browser")}
	if m.modal.canPaste {
		out = append(out, withDesc(k.SwitchPaste, "paste code"))
	}
	return append(out, k.ForceQuit)
}

// openTarget opens the login's address in a browser here; the note says
// whether one opened.
func (m Model) openTarget(u string) tea.Cmd {
	open, op := m.opts.OpenBrowser, m.modal.op
	return func() tea.Msg {
		if open == nil {
			return openedMsg{Op: op}
		}
		ok, err := open(u)
		return openedMsg{Op: op, Opened: ok && err == nil}
	}
}

// offerText names the login keys a provider does offer.
func (m Model) offerText(flows []auth.Flow) string {
	k := m.com.Keys
	var parts []string
	for _, f := range flows {
		switch f {
		case auth.FlowBrowser:
			parts = append(parts, k.Login.Help().Key+" (browser)")
		case auth.FlowDevice:
			parts = append(parts, k.DeviceLogin.Help().Key+" (device)")
		case auth.FlowPaste:
			parts = append(parts, k.PasteLogin.Help().Key+" (paste)")
		}
	}
	if len(parts) == 0 {
		return "it offers no login here"
	}
	return "use " + strings.Join(parts, " or ")
}

// loginKeys names the login keys provider offers, for the details.
func (m Model) loginKeys(provider string) string {
	k := m.com.Keys
	var parts []string
	for _, f := range m.flows(provider) {
		switch f {
		case auth.FlowBrowser:
			parts = append(parts, k.Login.Help().Key+" browser")
		case auth.FlowDevice:
			parts = append(parts, k.DeviceLogin.Help().Key+" device")
		case auth.FlowPaste:
			parts = append(parts, k.PasteLogin.Help().Key+" paste")
		}
	}
	return strings.Join(parts, " · ")
}
