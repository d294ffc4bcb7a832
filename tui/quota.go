package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

// QuotaSource is where the dashboard reads the quota meters from: the
// ledger's latest observations (which serve in another process writes
// too) and, while the dashboard is open, the usage endpoints' answers.
type QuotaSource interface {
	// Quotas is every account's quota as it stands now.
	Quotas(ctx context.Context) ([]quota.Snapshot, error)
	// PollQuota asks the usage endpoints that are due and returns the
	// notices to show once (a login whose quota comes from traffic only).
	PollQuota(ctx context.Context) []string
}

// quotaEvery is how often an open dashboard re-reads the quota (another
// process, a serve beside it, may have written it) and lets the due
// endpoints be asked, which they are only every few minutes; a response's
// own quota is read at once. Reading the latest observations is one small
// query, so a reading made elsewhere shows within seconds.
const quotaEvery = 5 * time.Second

// quotaMsg carries a fetch's result.
type quotaMsg struct {
	N       uint64
	List    []quota.Snapshot
	Notices []string
	Err     error
	// Polled says the endpoints were asked, so the next poll is due
	// quotaEvery from now.
	Polled bool
}

// quotaTickMsg says it is time for the periodic fetch.
type quotaTickMsg struct{ N uint64 }

// quotaModel is the meters pane: a line per window, grouped by provider,
// with a bar, the percentage, the reset countdown and the binding window
// marked ◆. It renders in Update; View returns the cached text.
type quotaModel struct {
	com      *Common
	list     []quota.Snapshot
	filter   string
	scroll   scroller
	width    int
	height   int
	rendered string
}

func newQuota(com *Common) quotaModel { return quotaModel{com: com} }

// SetSize gives the pane its area.
func (q quotaModel) SetSize(w, h int) quotaModel {
	q.width, q.height = w, h
	return q.render()
}

// SetList shows list, the snapshots as they stand now.
func (q quotaModel) SetList(list []quota.Snapshot) quotaModel {
	q.list = list
	return q.render()
}

// Rows is how many lines the pane wants: one per window shown, and one
// per account whose pace runs out before a reset.
func (q quotaModel) Rows() int {
	n := 0
	for _, s := range q.visible() {
		n += len(s.Windows)
		if f, ok := s.Pace(q.com.Now); ok && f.RunsOut {
			n++
		}
	}
	return n
}

// Counting reports whether a reset countdown is on screen.
func (q quotaModel) Counting(now time.Time) bool {
	for _, s := range q.list {
		for _, w := range s.Windows {
			if !w.ResetsAt.IsZero() && now.Before(w.ResetsAt) {
				return true
			}
		}
	}
	return false
}

// Snapshot returns the quota of one account of provider (account "" for
// a provider without accounts: its first reading), for the details pane.
func (q quotaModel) Snapshot(provider, account string) (quota.Snapshot, bool) {
	for _, s := range q.list {
		if s.Provider == provider && (account == "" || s.Account == account) {
			return s, true
		}
	}
	return quota.Snapshot{}, false
}

// Update scrolls on the cursor keys (with the focus) and redraws the
// countdowns on a tick.
func (q quotaModel) Update(msg tea.Msg) (quotaModel, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		if q.scroll.key(msg, q.com.Keys, q.height) {
			return q.render(), nil
		}
	case filterMsg:
		q.filter = msg.Text
		q.scroll.offset = 0
		return q.render(), nil
	case tickMsg:
		return q.render(), nil
	}
	return q, nil
}

// View returns the pane as rendered by the last Update.
func (q quotaModel) View() string { return q.rendered }

func (q quotaModel) visible() []quota.Snapshot {
	if q.filter == "" {
		return q.list
	}
	f := strings.ToLower(q.filter)
	var out []quota.Snapshot
	for _, s := range q.list {
		if strings.Contains(strings.ToLower(s.Provider), f) {
			out = append(out, s)
		}
	}
	return out
}

// Column widths of the meters.
const (
	quotaNameW  = 13
	quotaWinW   = 11
	quotaResetW = 7
	quotaMinBar = 4
)

func (q quotaModel) render() quotaModel {
	var lines []string
	shown := q.visible()
	labels := quota.Labels(shown)
	for k, s := range shown {
		for i, w := range s.Windows {
			name := ""
			if i == 0 {
				name = termsafe.Line(labels[k])
			}
			lines = append(lines, meterLine(q.com, name, s.Binding == w.Name, w, q.width))
		}
		if f, ok := s.Pace(q.com.Now); ok && f.RunsOut {
			lines = append(lines, "  "+q.com.Styles.Warning.Render(f.String()))
		}
	}
	q.rendered = block(q.scroll.window(lines, q.height), q.width, q.height)
	return q
}

// meterLine is one window: "claude  ◆5h  ▕██████░░░░▏  42%  ↻1h10m",
// coloured by the window's level (≥ 75 % warning, ≥ 90 % or rejected alarm).
func meterLine(com *Common, name string, binding bool, w quota.Window, width int) string {
	st, now := com.Styles, com.Now
	mark := " "
	if binding {
		mark = "◆"
	}
	reset := "—"
	switch {
	case w.Reset(now):
		reset = "reset"
	case !w.ResetsAt.IsZero():
		reset = "↻" + quota.Duration(w.ResetsAt.Sub(now))
	}
	head := fit(name, quotaNameW) + " " + mark + fit(termsafe.Line(w.Name), quotaWinW) + " "
	tail := fmt.Sprintf(" %4s  %s", w.Percent(), fit(reset, quotaResetW))
	barW := max(width-ansi.StringWidth(head)-ansi.StringWidth(tail)-2, quotaMinBar)
	style := st.Calm
	switch w.Level() {
	case 1:
		style = st.Warning
	case 2:
		style = st.Alarm
	}
	return head + "▕" + style.Render(meterBar(w, barW)) + "▏" + style.Render(tail)
}

// meterBar is width cells of "█" for the used part and "░" for the rest;
// an unknown fullness is all "░".
func meterBar(w quota.Window, width int) string {
	n := 0
	if !w.UsageUnknown {
		n = int(w.UsedPercent/100*float64(width) + 0.5)
	}
	n = min(max(n, 0), width)
	return strings.Repeat("█", n) + strings.Repeat("░", width-n)
}

// quotaDetail is the details pane's quota section for s: every window with
// its state, reset, source and age, then the pace forecast (the one field
// long enough to wrap).
func quotaDetail(com *Common, s quota.Snapshot) [][2]string {
	now := com.Now
	var out [][2]string
	for _, w := range s.Windows {
		v := w.Percent() + " " + string(w.Status)
		if w.Name == s.Binding {
			v += " ◆"
		}
		switch {
		case w.Reset(now):
			v += " · reset"
		case !w.ResetsAt.IsZero():
			v += " · ↻" + quota.Duration(w.ResetsAt.Sub(now)) + " (" + w.ResetsAt.Format("Jan 2 15:04") + ")"
		}
		src, seen := w.Source, w.ObservedAt
		if src == "" {
			src, seen = s.Source, s.ObservedAt
		}
		v += " · " + string(src) + " " + ago(now.Sub(seen)) + " ago"
		out = append(out, [2]string{"Quota " + termsafe.Line(w.Name), v})
	}
	if f, ok := s.Pace(now); ok {
		out = append(out, [2]string{"Pace", f.String()})
	}
	return out
}

// ago is an observation's age: seconds while it is fresh, then as the
// meters write durations.
func ago(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(max(d, 0)/time.Second))
	}
	return quota.Duration(d)
}

// wrapWords breaks s into lines of at most w cells at spaces.
func wrapWords(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case ansi.StringWidth(line)+1+ansi.StringWidth(word) <= w:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// quotaChanges is what the activity log says when a new reading replaces
// the last one: a window passing 75, 90 or 100 %, and a window that reset.
// It compares windows by provider, account and name; a window seen for the
// first time says nothing (there is no crossing without a before).
func quotaChanges(before, after []quota.Snapshot) []entry {
	type key struct{ provider, account, name string }
	old := map[key]quota.Window{}
	for _, s := range before {
		for _, w := range s.Windows {
			old[key{s.Provider, s.Account, w.Name}] = w
		}
	}
	var out []entry
	for _, s := range after {
		for _, w := range s.Windows {
			prev, ok := old[key{s.Provider, s.Account, w.Name}]
			if !ok || w.UsageUnknown || prev.UsageUnknown {
				continue
			}
			switch {
			case w.UsedPercent < prev.UsedPercent && (w.ResetsAt.After(prev.ResetsAt) || w.UsedPercent == 0):
				out = append(out, entry{Provider: s.Provider, Text: fmt.Sprintf("%s window reset: %s used", w.Name, w.Percent())})
			case w.UsedPercent > prev.UsedPercent:
				for i := len(quota.Crossings) - 1; i >= 0; i-- {
					c := quota.Crossings[i]
					if prev.UsedPercent < c && w.UsedPercent >= c {
						lvl := levelWarn
						if c >= quota.AlarmAt {
							lvl = levelError
						}
						out = append(out, entry{Provider: s.Provider, Level: lvl,
							Text: fmt.Sprintf("%s window passed %.0f%%: %s used%s", w.Name, c, w.Percent(), resetsIn(w, s))})
						break
					}
				}
			}
		}
	}
	return out
}

func resetsIn(w quota.Window, s quota.Snapshot) string {
	if w.ResetsAt.IsZero() {
		return ""
	}
	return ", resets " + w.ResetsAt.Format("15:04 MST")
}

// fetchQuota reads the quota (asking the due endpoints first when poll)
// off the Update loop; a fetch asked for while one runs follows it.
func (m *Model) fetchQuota(poll bool) tea.Cmd {
	if m.opts.Quota == nil {
		return nil
	}
	if m.quotaOp != 0 {
		m.quotaAgain = true
		return nil
	}
	m.n++
	m.quotaOp = m.n
	return quotaCmd(m.ctx, m.opts.Quota, m.n, poll)
}

func quotaCmd(ctx context.Context, src QuotaSource, n uint64, poll bool) tea.Cmd {
	return func() tea.Msg {
		var notices []string
		if poll {
			notices = src.PollQuota(ctx)
		}
		list, err := src.Quotas(ctx)
		return quotaMsg{N: n, List: list, Notices: notices, Err: err, Polled: poll}
	}
}

// quotaTick schedules the next periodic fetch.
func (m *Model) quotaTick() tea.Cmd {
	if m.opts.Quota == nil {
		return nil
	}
	m.n++
	m.quotaTickN = m.n
	return quotaTickCmd(m.ctx, m.com.Clock, m.n)
}

func quotaTickCmd(ctx context.Context, clock clockwork.Clock, n uint64) tea.Cmd {
	return func() tea.Msg {
		select {
		case <-ctx.Done():
			return nil
		case <-clock.After(quotaEvery):
			return quotaTickMsg{N: n}
		}
	}
}

// updateQuota handles the quota messages.
func (m Model) updateQuota(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case quotaTickMsg:
		if msg.N != m.quotaTickN {
			return m, nil
		}
		return m, tea.Batch(m.fetchQuota(true), m.quotaTick())
	case quotaMsg:
		if msg.N != m.quotaOp {
			return m, nil
		}
		m.quotaOp = 0
		for _, n := range msg.Notices {
			m.activity = m.activity.Add(entry{Time: m.com.Now, Provider: "quota", Text: n, Level: levelWarn})
		}
		if msg.Err != nil && m.opts.Log != nil {
			m.opts.Log.Warn("dashboard: quota", "err", termsafe.Line(msg.Err.Error()))
		}
		for _, e := range quotaChanges(m.quota.list, msg.List) {
			e.Time = m.com.Now
			m.activity = m.activity.Add(e)
		}
		rowsBefore := m.quota.Rows()
		m.quota = m.quota.SetList(msg.List)
		m.table = m.table.SetQuota(msg.List)
		if m.quota.Rows() != rowsBefore {
			m = m.layout()
		}
		m = m.syncDetail()
		var again tea.Cmd
		if m.quotaAgain {
			m.quotaAgain = false
			again = m.fetchQuota(false)
		}
		return m, tea.Batch(again, m.ensureTick())
	}
	return m, nil
}
