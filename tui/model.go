package tui

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
	"github.com/ccproxy-tui/ccproxy-tui/ledger"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// animEvery is the spinner's frame interval.
const animEvery = 100 * time.Millisecond

// Model is the dashboard's root: it routes messages to the panes, owns the
// dialogs and lays the panes out. It never blocks: everything slow runs in a
// tea.Cmd and comes back as a message.
type Model struct {
	ctx  context.Context
	opts Options
	com  *Common

	table    tableModel
	detail   detailModel
	activity activityModel
	requests requestsModel
	quota    quotaModel
	help     help.Model

	// focus is the pane the keys go to; areas is where layout put the
	// stacked panes.
	focus paneID
	areas []slot

	showDetail bool
	overlay    overlay
	confirmFor string
	envText    string
	// copyNote says what the last copy did, in the dialog it came from.
	copyNote string
	// pageOff is how far the open dialog is scrolled; entry is the log
	// line it shows whole.
	pageOff int
	entry   entry
	clip    copier
	// request is the one the request dialog shows; showRequests puts the
	// requests view where the log is.
	request      ledger.Record
	showRequests bool
	// usageN is the ledger load in flight or scheduled (0: none).
	usageN uint64

	// filtering is true while the user types after /; filter is what
	// the panes were last told to match.
	filtering  bool
	filterIn   textinput.Model
	filter     string
	modal      *loginModal
	flash      string
	flashLevel level

	proxy proxyState

	// statusText and footText are the top and bottom lines, rendered at the
	// end of every Update so View only assembles.
	statusText, footText string

	n         uint64 // last generation handed out
	statusOp  opID
	refreshOp map[string]opID
	logoutOp  opID
	tickN     uint64 // 0: no tick in flight
	animN     uint64 // 0: no animation frame in flight
	frame     int
	quitting  bool
	mouseOn   bool // mouse reporting is on (see mouseCmd)
	// quotaOp is the quota fetch in flight (0: none); quotaAgain asks for
	// another once it is back; quotaTickN is the periodic fetch's timer.
	quotaOp    uint64
	quotaAgain bool
	quotaTickN uint64
}

// New builds the dashboard model. ctx bounds every background call it makes.
func New(ctx context.Context, opts Options) Model {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	st := opts.Styles
	if st == nil {
		if opts.NoColor {
			st = NoColorStyles()
		} else {
			st = NewStyles(lipglossDefault())
		}
	}
	com := &Common{Styles: st, Keys: DefaultKeyMap(), Clock: opts.Clock, Now: opts.Clock.Now()}
	m := Model{
		ctx:       ctx,
		opts:      opts,
		com:       com,
		table:     newTable(com),
		detail:    newDetail(com),
		activity:  newActivity(com),
		requests:  newRequests(com, opts.Usage != nil),
		quota:     newQuota(com),
		help:      newHelp(st),
		filterIn:  newFilterInput(st),
		refreshOp: map[string]opID{},
	}
	if opts.Getenv == nil {
		m.opts.Getenv = os.Getenv
	}
	if opts.Tmux == nil {
		m.opts.Tmux = tmuxLoadBuffer
	}
	m.clip = copier{term: opts.Clipboard, getenv: m.opts.Getenv, tmux: m.opts.Tmux}
	if opts.Proxy != nil {
		m.proxy = proxyState{Configured: true, Running: opts.Proxy.Running(), URL: opts.Proxy.URL(), Stats: opts.Proxy.Stats()}
		m.proxy.Busy = opts.AutostartProxy && !m.proxy.Running
	}
	if opts.Demo {
		m.activity = m.activity.Add(entry{Time: com.Now, Provider: "demo", Text: "fake providers on loopback, nothing here is real · try d on copilot-demo, r, p, l"})
	}
	// Init cannot keep state (it has a value receiver), so the first
	// statuses request (and the first quota fetch and its timer) is
	// numbered here.
	m.statusOp = m.next("")
	if opts.Usage != nil {
		m.usageN = m.next("").N
	}
	if opts.Quota != nil {
		m.quotaOp = m.next("").N
		m.quotaTickN = m.next("").N
	}
	return m
}

// Init loads the providers and starts listening for events.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.statusesCmd(m.statusOp), waitAuth(m.ctx, m.opts.AuthEvents), waitProxy(m.ctx, m.opts.ProxyEvents)}
	if m.opts.Quota != nil {
		cmds = append(cmds, quotaCmd(m.ctx, m.opts.Quota, m.quotaOp, true), quotaTickCmd(m.ctx, m.com.Clock, m.quotaTickN))
	}
	if m.proxy.Busy {
		cmds = append(cmds, m.toggleProxy(false))
	}
	if m.usageN != 0 {
		cmds = append(cmds, loadUsage(m.ctx, m.opts.Usage, m.opts.UsageStats, m.com.Clock, 0, m.usageN))
	}
	return tea.Batch(cmds...)
}

// next hands out a generation number for a new operation.
func (m *Model) next(provider string) opID {
	m.n++
	return opID{Provider: provider, N: m.n}
}

// Update applies msg, then renders the status line and footer once for
// every View that follows.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	nm, cmd := m.update(msg)
	mm := nm.(Model)
	if mm.opts.Mouse {
		var mcmd tea.Cmd
		mm, mcmd = mm.mouseCmd()
		cmd = tea.Batch(cmd, mcmd)
	}
	mm.statusText = statusLine(mm.com, mm.proxy, mm.opts.Demo, mm.filter)
	mm.footText = mm.footer()
	return mm, cmd
}

// update is the one switch over every message the dashboard knows.
func (m Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.com.Width, m.com.Height = msg.Width, msg.Height
		return m.layout(), nil
	case tea.KeyMsg:
		return m.handleKeys(msg)
	case tea.MouseMsg:
		return m.mouse(msg)
	case statusesMsg:
		if !fresh(m.statusOp, opID{N: msg.N}) {
			return m, nil
		}
		m.statusOp = opID{}
		m.table = m.table.SetRows(m.present(msg.List))
		m = m.layout().syncDetail()
		cmd := m.ensureTick()
		return m, cmd
	case authEventMsg:
		ev := msg.Event
		ev.Message = m.keyAdvice(ev.Provider, ev.Message)
		if ev.Err != nil {
			ev.Err = errors.New(m.eventCause(ev.Provider, ev.Err))
		}
		m, cmd := m.broadcast(authEventMsg{Event: ev})
		return m, tea.Batch(cmd, m.fetchStatuses(), waitAuth(m.ctx, m.opts.AuthEvents))
	case proxyEventMsg:
		m, cmd := m.broadcast(msg)
		if m.opts.Proxy != nil {
			m.proxy.Stats = m.opts.Proxy.Stats()
		}
		var fetch tea.Cmd
		if msg.Event.Quota != nil {
			fetch = m.fetchQuota(false)
		}
		return m, tea.Batch(cmd, fetch, waitProxy(m.ctx, m.opts.ProxyEvents), m.scheduleUsage(afterRequest))
	case quotaMsg, quotaTickMsg:
		return m.updateQuota(msg)
	case usageLoadedMsg:
		if msg.N != m.usageN {
			return m, nil
		}
		m.usageN = 0
		m.proxy.LedgerLost = msg.Data.Stats.Dropped + msg.Data.Stats.Failed
		m, cmd := m.broadcast(msg)
		if m.showRequests {
			cmd = tea.Batch(cmd, m.scheduleUsage(reloadEvery))
		}
		return m, cmd
	case requestOpenedMsg:
		if msg.Err != nil {
			return m.report("ledger", msg.Err.Error()), nil
		}
		m.overlay, m.request, m.pageOff = overlayRequest, msg.Record, 0
		return m, nil
	case eventsClosedMsg:
		return m, nil
	case tickMsg:
		if msg.N != m.tickN {
			return m, nil
		}
		m.tickN = 0
		m.com.Now = msg.Now
		m, cmd := m.broadcast(msg)
		return m, tea.Batch(cmd, m.ensureTick())
	case animMsg:
		if msg.N != m.animN {
			return m, nil
		}
		m.animN = 0
		m.frame++
		cmd := m.ensureAnim()
		return m, cmd
	case refreshDoneMsg:
		if !fresh(m.refreshOp[msg.Op.Provider], msg.Op) {
			return m, nil
		}
		m.refreshOp = without(m.refreshOp, msg.Op.Provider)
		m.table = m.table.SetBusy(msg.Op.Provider, "")
		if msg.Err != nil {
			m = m.report(msg.Op.Provider, m.describe("refresh", msg.Op.Provider, msg.Err))
		}
		cmd := m.fetchStatuses()
		return m, cmd
	case switchDoneMsg:
		m.table = m.table.SetBusy(msg.Row, "")
		if msg.Err != nil {
			m = m.report(msg.Row, m.describe("switch", msg.Row, msg.Err))
		}
		return m, m.fetchStatuses()
	case logoutDoneMsg:
		if !fresh(m.logoutOp, msg.Op) {
			return m, nil
		}
		m.logoutOp = opID{}
		m.table = m.table.SetBusy(msg.Op.Provider, "")
		if msg.Err != nil {
			m = m.report(msg.Op.Provider, m.describe("logout", msg.Op.Provider, msg.Err))
		}
		cmd := m.fetchStatuses()
		return m, cmd
	case browserStartedMsg, pasteStartedMsg, browserOpenedMsg, openedMsg, deviceCodeMsg, loginDoneMsg:
		return m.updateLogin(msg)
	case proxyToggledMsg:
		m.proxy.Busy = false
		var se *proxy.ServingElsewhereError
		if errors.As(msg.Err, &se) {
			// Another ccproxy-tui already serves the address: that is a
			// running proxy, just not this process's.
			m.proxy.Running, m.proxy.URL, m.proxy.ElsewherePID = true, se.URL, se.PID
			m.activity = m.activity.Add(entry{Time: m.com.Now, Provider: "proxy", Text: termsafe.Line(se.Error())})
			return m, nil
		}
		if msg.Err != nil {
			m = m.report("proxy", msg.Err.Error())
			return m, nil
		}
		m.proxy.Running, m.proxy.URL = msg.Running, msg.URL
		text := "proxy stopped"
		if msg.Running {
			text = "listening at " + msg.URL
		}
		m.activity = m.activity.Add(entry{Time: m.com.Now, Provider: "proxy", Text: text})
		return m, nil
	case clipboardMsg:
		if m.modal != nil {
			mod := *m.modal
			mod.note = msg.note()
			m.modal = &mod
		} else {
			m.copyNote = msg.note()
		}
		return m, nil
	case quitReadyMsg:
		return m, tea.Quit
	}
	return m, nil
}

// present rewrites the command-line advice in statuses into the
// dashboard's keys before any pane shows them.
func (m Model) present(list []auth.Status) []auth.Status {
	out := make([]auth.Status, len(list))
	for i, s := range list {
		s.Reason = m.keyAdvice(s.Provider, s.Reason)
		s.LastError = m.keyAdvice(s.Provider, s.LastError)
		out[i] = s
	}
	return out
}

// report puts an error in the log, the footer and the log file.
func (m Model) report(provider, text string) Model {
	text = termsafe.Line(text)
	if m.opts.Log != nil {
		m.opts.Log.Warn("dashboard", "provider", provider, "err", text)
	}
	m.activity = m.activity.Add(entry{Time: m.com.Now, Provider: provider, Text: text, Level: levelError})
	m.flash, m.flashLevel = text, levelError
	return m
}

func (m Model) syncDetail() Model {
	s, ok := m.table.SelectedStatus()
	q, hasQuota := m.quota.Snapshot(s.Provider, s.Account)
	m.detail = m.detail.SetQuota(q, ok && hasQuota).SetLogins(m.loginKeys(s.Provider)).SetStatus(s, ok)
	return m
}

// counting reports whether a countdown is on screen, which is the only
// reason to tick.
func (m Model) counting() bool {
	return m.table.Counting(m.com.Now) || m.quota.Counting(m.com.Now) || (m.modal != nil && m.modal.counting())
}

// ensureTick schedules the next 1 s tick when a countdown is showing and
// none is scheduled. An idle dashboard schedules nothing.
func (m *Model) ensureTick() tea.Cmd {
	if m.tickN != 0 || !m.counting() {
		return nil
	}
	m.n++
	m.tickN = m.n
	return tickCmd(m.ctx, m.com.Clock, m.tickN, time.Second-time.Duration(m.com.Now.Nanosecond()))
}

// scheduleUsage reads the ledger after delay, unless a read is already
// under way or scheduled, or there is no ledger.
func (m *Model) scheduleUsage(delay time.Duration) tea.Cmd {
	if m.opts.Usage == nil || m.usageN != 0 {
		return nil
	}
	m.n++
	m.usageN = m.n
	return loadUsage(m.ctx, m.opts.Usage, m.opts.UsageStats, m.com.Clock, delay, m.usageN)
}

// ensureAnim schedules the next spinner frame while a modal is open.
func (m *Model) ensureAnim() tea.Cmd {
	if m.animN != 0 || m.modal == nil {
		return nil
	}
	m.n++
	m.animN = m.n
	n, ctx, clock := m.animN, m.ctx, m.com.Clock
	return func() tea.Msg {
		select {
		case <-ctx.Done():
			return nil
		case t := <-clock.After(animEvery):
			return animMsg{N: n, Now: t}
		}
	}
}

// handleKeys splits runes that arrived in one read ("jjd" from a fast
// typist, tmux send-keys or a slow SSH link) into single key presses, except
// for text typed into the paste input, which takes them whole.
func (m Model) handleKeys(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	typing := (m.modal != nil && m.modal.flow == auth.FlowPaste) || m.filtering
	if msg.Type != tea.KeyRunes || len(msg.Runes) < 2 || msg.Paste || typing {
		return m.handleKey(msg)
	}
	var cmds []tea.Cmd
	var next tea.Model = m
	for _, r := range msg.Runes {
		var cmd tea.Cmd
		next, cmd = next.(Model).handleKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
		cmds = append(cmds, cmd)
	}
	return next, tea.Batch(cmds...)
}

func (m Model) handleKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.com.Keys
	if m.quitting {
		return m, nil
	}
	m.flash = ""
	if m.modal != nil {
		return m.modalKey(msg)
	}
	if m.filtering {
		return m.filterKey(msg)
	}
	switch m.overlay {
	case overlayHelp, overlayEntry, overlayRequest:
		switch {
		case key.Matches(msg, k.ForceQuit):
			return m.quit()
		case key.Matches(msg, k.Close, k.Submit):
			m.overlay = overlayNone
		case key.Matches(msg, k.Scroll):
			m = m.scrollPage(msg)
		}
		return m, nil
	case overlayEnv:
		switch {
		case key.Matches(msg, k.ForceQuit):
			return m.quit()
		case key.Matches(msg, k.Close, k.Submit, k.Env):
			m.overlay = overlayNone
		case key.Matches(msg, k.Copy):
			return m, m.clip.copy(m.ctx, "exports", m.envText)
		case key.Matches(msg, k.Scroll):
			m = m.scrollPage(msg)
		}
		return m, nil
	case overlayConfirmLogout:
		switch {
		case key.Matches(msg, k.ForceQuit):
			return m.quit()
		case key.Matches(msg, k.Yes):
			m.overlay = overlayNone
			return m.logout(m.confirmFor)
		case key.Matches(msg, k.No):
			m.overlay = overlayNone
		}
		return m, nil
	}
	sel := m.table.Selected()
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Help):
		m.overlay, m.pageOff = overlayHelp, 0
	case key.Matches(msg, k.Focus):
		m = m.cycleFocus(1)
	case key.Matches(msg, k.FocusBack):
		m = m.cycleFocus(-1)
	case key.Matches(msg, k.Up, k.Down, k.Top, k.Bottom):
		return m.toPane(m.focus, msg)
	case key.Matches(msg, k.LogUp, k.LogDown):
		// The page keys scroll the focused stacked pane, or the log when
		// the table has the focus, so the log scrolls from anywhere.
		id := m.focus
		if id == paneTable || id == paneDetail {
			id = m.lowerPane()
		}
		return m.toPane(id, msg)
	case key.Matches(msg, k.Requests):
		m.showRequests = !m.showRequests
		m = m.layout()
		if m.showRequests {
			m = m.setFocus(paneRequests)
			return m, m.scheduleUsage(0)
		}
	case key.Matches(msg, k.Details) && m.focus == paneRequests:
		rec, ok := m.requests.Current()
		switch {
		case !ok:
		case m.opts.Usage != nil && rec.ID != 0:
			return m, openRequest(m.ctx, m.opts.Usage, rec.ID)
		default:
			m.overlay, m.request, m.pageOff = overlayRequest, rec, 0
		}
	case key.Matches(msg, k.Details) && m.focus == paneLog:
		if e, ok := m.activity.Current(); ok {
			m.overlay, m.entry, m.pageOff = overlayEntry, e, 0
		}
	case key.Matches(msg, k.Details):
		m.showDetail = !m.showDetail
		m = m.layout()
	case key.Matches(msg, k.Filter):
		m.filtering = true
		m.filterIn.SetValue(m.filter)
		m.filterIn.CursorEnd()
		return m, m.filterIn.Focus()
	case key.Matches(msg, k.Cancel) && m.filter != "":
		return m.setFilter("")
	case key.Matches(msg, k.Cancel):
		if m.showDetail {
			m.showDetail = false
			m = m.layout()
		}
	case key.Matches(msg, k.Login):
		return m.startLogin(sel, auth.FlowBrowser)
	case key.Matches(msg, k.DeviceLogin):
		return m.startLogin(sel, auth.FlowDevice)
	case key.Matches(msg, k.PasteLogin):
		return m.startLogin(sel, auth.FlowPaste)
	case key.Matches(msg, k.Logout):
		if sel != "" {
			m.overlay, m.confirmFor = overlayConfirmLogout, sel
		}
	case key.Matches(msg, k.Refresh):
		return m.refresh(sel)
	case key.Matches(msg, k.Switch):
		return m.switchAccount()
	case key.Matches(msg, k.Proxy):
		if !m.proxy.Configured {
			m.flash, m.flashLevel = "no proxy is configured", levelWarn
			return m, nil
		}
		if m.proxy.Busy {
			return m, nil
		}
		if m.proxy.ElsewherePID != 0 {
			m.flash, m.flashLevel = fmt.Sprintf("the proxy at %s belongs to pid %d; stop it there", m.proxy.URL, m.proxy.ElsewherePID), levelWarn
			return m, nil
		}
		m.proxy.Busy = true
		return m, m.toggleProxy(m.proxy.Running)
	case key.Matches(msg, k.Env):
		return m.showEnv()
	}
	return m, nil
}

func (m Model) quit() (tea.Model, tea.Cmd) {
	m.quitting = true
	var closeCmd tea.Cmd
	if m.modal != nil {
		closeCmd = closeBrowser(m.modal.Close())
		m.modal = nil
	}
	if m.opts.Proxy == nil || !m.proxy.Running {
		return m, tea.Batch(closeCmd, tea.Quit)
	}
	p := m.opts.Proxy
	ctx := context.WithoutCancel(m.ctx)
	return m, tea.Batch(closeCmd, func() tea.Msg {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = p.Stop(sctx) // quitting regardless; Run stops it again if needed
		return quitReadyMsg{}
	})
}

func (m Model) refresh(p string) (tea.Model, tea.Cmd) {
	if p == "" {
		return m, nil
	}
	op := m.next(p)
	m.refreshOp = with(m.refreshOp, p, op)
	m.table = m.table.SetBusy(p, "refreshing")
	b, ctx := m.opts.Backend, m.ctx
	return m, func() tea.Msg {
		return refreshDoneMsg{Op: op, Err: b.Refresh(ctx, op.Provider)}
	}
}

// switchAccount makes the selected account its provider's active one; a
// row that is no account, or is active already, says so instead.
func (m Model) switchAccount() (tea.Model, tea.Cmd) {
	s, ok := m.table.SelectedStatus()
	switch {
	case !ok:
		return m, nil
	case s.Account == "":
		m.flash, m.flashLevel = s.Provider+" has no accounts to switch between; log in first", levelWarn
		return m, nil
	case s.Active:
		m.flash, m.flashLevel = s.Provider+" account "+termsafe.Line(s.Account)+" is active already", levelInfo
		return m, nil
	}
	row := rowKey(s)
	m.table = m.table.SetBusy(row, "switching")
	b, ctx := m.opts.Backend, m.ctx
	return m, func() tea.Msg {
		return switchDoneMsg{Row: row, Err: b.Switch(ctx, s.Provider, s.Account)}
	}
}

func (m Model) logout(p string) (tea.Model, tea.Cmd) {
	if p == "" {
		return m, nil
	}
	op := m.next(p)
	m.logoutOp = op
	m.table = m.table.SetBusy(p, "logging out")
	b, ctx := m.opts.Backend, m.ctx
	return m, func() tea.Msg {
		return logoutDoneMsg{Op: op, Err: b.Logout(ctx, op.Provider)}
	}
}

func (m Model) showEnv() (tea.Model, tea.Cmd) {
	if !m.proxy.Configured {
		m.flash, m.flashLevel = "no proxy is configured", levelWarn
		return m, nil
	}
	if m.proxy.URL == "" {
		m.flash, m.flashLevel = "start the proxy with p first: the exports point at its address", levelWarn
		return m, nil
	}
	text := defaultEnv(m.proxy.URL, m.table.rows)
	if m.opts.Env != nil {
		text = m.opts.Env(m.proxy.URL)
	}
	m.overlay, m.envText, m.copyNote, m.pageOff = overlayEnv, text, "Copying…", 0
	return m, m.clip.copy(m.ctx, "exports", text)
}

// with returns a copy of ops with p set to op: maps are never written in
// place, so an older copy of the model keeps its own.
func with(ops map[string]opID, p string, op opID) map[string]opID {
	out := maps.Clone(ops)
	if out == nil {
		out = map[string]opID{}
	}
	out[p] = op
	return out
}

// without returns a copy of ops without p.
func without(ops map[string]opID, p string) map[string]opID {
	out := maps.Clone(ops)
	delete(out, p)
	return out
}

// defaultEnv names each provider's route when no Env func was given.
func defaultEnv(url string, rows []auth.Status) string {
	var b strings.Builder
	for _, r := range rows {
		name := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(r.Provider))
		fmt.Fprintf(&b, "export CCPROXY_%s_BASE_URL=%s/%s\n", name, url, r.Provider)
	}
	return b.String()
}
