package tui

import (
	"maps"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

// tableModel is the providers table: one row per account, grouped under
// its provider (the name shown once, the active account marked), with its
// live countdown. It renders in Update (when data, size, cursor or clock change)
// so that View only returns the cached text.
type tableModel struct {
	com      *Common
	rows     []auth.Status // the rows shown: all, or those the filter keeps
	all      []auth.Status
	filter   string
	busy     map[string]string // row key → transient state ("refreshing", "logging in")
	meters   map[string]string // row key → its binding quota window, "5h 42%"
	cursor   int
	offset   int
	width    int
	height   int
	rendered string
}

func newTable(com *Common) tableModel {
	return tableModel{com: com}
}

// Update moves the cursor on the keys it is sent (only while it has the
// focus) and redraws the countdowns on a tick.
func (t tableModel) Update(msg tea.Msg) (tableModel, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		k := t.com.Keys
		switch {
		case key.Matches(msg, k.Up):
			return t.Move(-1), nil
		case key.Matches(msg, k.Down):
			return t.Move(1), nil
		case key.Matches(msg, k.Top):
			return t.Move(-len(t.rows)), nil
		case key.Matches(msg, k.Bottom):
			return t.Move(len(t.rows)), nil
		}
	case filterMsg:
		t.filter = msg.Text
		return t.SetRows(t.all), nil
	case tickMsg:
		return t.render(), nil
	}
	return t, nil
}

// SetSize gives the table its area; height counts the header line.
func (t tableModel) SetSize(w, h int) tableModel {
	t.width, t.height = w, h
	return t.render()
}

// SetRows replaces the providers, keeping the cursor on the same name.
func (t tableModel) SetRows(rows []auth.Status) tableModel {
	sel := t.Selected()
	t.all = rows
	t.rows = t.all
	if t.filter != "" {
		t.rows = nil
		f := strings.ToLower(t.filter)
		for _, r := range t.all {
			if strings.Contains(strings.ToLower(rowKey(r)), f) {
				t.rows = append(t.rows, r)
			}
		}
	}
	t.cursor = 0
	for i, r := range t.rows {
		if rowKey(r) == sel {
			t.cursor = i
		}
	}
	return t.render()
}

// SetBusy marks a provider with a transient state, or clears it with "".
// The map is copied, never written in place: an older copy of the model
// must not see the change.
func (t tableModel) SetBusy(provider, state string) tableModel {
	busy := maps.Clone(t.busy)
	if busy == nil {
		busy = map[string]string{}
	}
	if state == "" {
		delete(busy, provider)
	} else {
		busy[provider] = state
	}
	t.busy = busy
	return t.render()
}

// SetQuota gives each account its binding quota window, shown in its row
// when known. The map is replaced, never written in place.
func (t tableModel) SetQuota(list []quota.Snapshot) tableModel {
	meters := make(map[string]string, len(list))
	for _, s := range list {
		if w, ok := s.Window(s.Binding); ok {
			text := termsafe.Line(w.Name) + " " + w.Percent()
			if w.Status == quota.Rejected {
				text += "!"
			}
			meters[rowKey(auth.Status{Provider: s.Provider, Account: s.Account})] = text
		}
	}
	t.meters = meters
	return t.render()
}

// Selected is the key of the row under the cursor ("claude", or
// "claude@work" for one of several accounts), "" when there are none.
func (t tableModel) Selected() string {
	if t.cursor < 0 || t.cursor >= len(t.rows) {
		return ""
	}
	return rowKey(t.rows[t.cursor])
}

// rowKey names a row the way the backend takes it: the provider, or
// "<provider>@<account>" for an account.
func rowKey(s auth.Status) string {
	if s.Account == "" {
		return s.Provider
	}
	return s.Provider + "@" + s.Account
}

// SelectedStatus is the status under the cursor.
func (t tableModel) SelectedStatus() (auth.Status, bool) {
	if t.cursor < 0 || t.cursor >= len(t.rows) {
		return auth.Status{}, false
	}
	return t.rows[t.cursor], true
}

// Move shifts the cursor by d rows, clamped.
func (t tableModel) Move(d int) tableModel {
	t.cursor += d
	if t.cursor >= len(t.rows) {
		t.cursor = len(t.rows) - 1
	}
	if t.cursor < 0 {
		t.cursor = 0
	}
	return t.render()
}

// Counting reports whether any row shows a live countdown.
func (t tableModel) Counting(now time.Time) bool {
	for _, r := range t.rows {
		if r.Authenticated && r.ExpiresAt != nil && r.ExpiresAt.After(now) {
			return true
		}
	}
	return false
}

// View returns the table as rendered by the last Update.
func (t tableModel) View() string { return t.rendered }

// stateUrgency is how loudly a state cell is drawn: states that need the
// user are alarms, states that will sort themselves out are warnings.
func stateUrgency(label string) urgency {
	switch label {
	case "expired", "needs login", string(auth.StateUnavailable):
		return urgencyAlarm
	case "expiring", "retrying":
		return urgencyWarning
	}
	return urgencyCalm
}

func stateLabel(s auth.Status) string {
	switch s.State {
	case auth.StateOK:
		return "logged in"
	case auth.StateNeedsLogin:
		return "needs login"
	case "":
		if s.Authenticated {
			return "logged in"
		}
		return "needs login"
	}
	return string(s.State)
}

// columns picks what fits in w: provider, state and expiry always; then
// account, access token and last refresh while room remains. The account
// column takes what is left over.
func (t tableModel) columns() (name, state, account, expires, life, token, last int) {
	name = len("PROVIDER")
	for _, r := range t.rows {
		if n := len(r.Provider); n > name {
			name = n
		}
	}
	name = min(name, 14)
	state, expires = len("needs login"), len("EXPIRES IN")
	const gap, minAccount, maxAccount = 2, 10, 30
	left := t.width - 2 - name - gap - state - gap - expires
	if left >= minAccount+gap {
		account = minAccount
		left -= minAccount + gap
	}
	if account > 0 && left >= lifeWidth+gap {
		life = lifeWidth
		left -= life + gap
	}
	if account > 0 && left >= 19+gap {
		token = 19
		left -= token + gap
	}
	if token > 0 && left >= len("LAST REFRESH")+gap {
		last = len("LAST REFRESH")
		left -= last + gap
	}
	if account > 0 {
		account += min(left, maxAccount-account)
	}
	if account == 0 && left > 0 {
		name += min(left, 14-name)
	}
	return
}

func (t tableModel) render() tableModel {
	st, now := t.com.Styles, t.com.Now
	if t.width <= 0 || t.height <= 0 {
		t.rendered = ""
		return t
	}
	name, state, account, expires, life, token, last := t.columns()
	var b strings.Builder
	header := "  " + fit("PROVIDER", name) + "  " + fit("STATE", state)
	if account > 0 {
		header += "  " + fit("ACCOUNT", account)
	}
	header += "  " + fit("EXPIRES IN", expires)
	if life > 0 {
		header += "  " + fit("LIFETIME", life)
	}
	if token > 0 {
		header += "  " + fit("ACCESS TOKEN", token)
	}
	if last > 0 {
		header += "  " + fit("LAST REFRESH", last)
	}
	b.WriteString(st.Header.Render(clip(header, t.width)))
	if len(t.rows) == 0 {
		text := "  no providers configured"
		if t.filter != "" {
			text = "  no provider matches /" + t.filter
		}
		b.WriteString("\n" + st.Muted.Render(clip(text, t.width)))
		t.rendered = b.String()
		return t
	}
	visible := max(t.height-1, 1)
	if t.cursor < t.offset {
		t.offset = t.cursor
	}
	if t.cursor >= t.offset+visible {
		t.offset = t.cursor - visible + 1
	}
	end := min(t.offset+visible, len(t.rows))
	for i := t.offset; i < end; i++ {
		r := t.rows[i]
		r.State = r.StateAt(now) // the countdown and the state agree on every tick
		b.WriteByte('\n')
		shown := r.Provider
		if i > 0 && t.rows[i-1].Provider == r.Provider {
			shown = "" // grouped under the provider's first row
		}
		cur, nameCell := "  ", fit(shown, name)
		if i == t.cursor {
			cur, nameCell = "> ", st.Selected.Render(nameCell)
		}
		label := stateLabel(r)
		if busy := t.busy[rowKey(r)]; busy != "" {
			label = busy
		}
		stateCell := fit(label, state)
		switch stateUrgency(label) {
		case urgencyAlarm:
			stateCell = st.Alarm.Render(stateCell)
		case urgencyWarning:
			stateCell = st.Warning.Render(stateCell)
		}
		line := cur + nameCell + "  " + stateCell
		if account > 0 {
			cell := accountCell(r)
			if m := t.meters[rowKey(r)]; m != "" {
				cell += " · " + m
			}
			line += "  " + fit(cell, account)
		}
		line += "  " + expiresCell(st, r, now, expires)
		if life > 0 {
			line += "  " + lifeBar(st, r, now, life)
		}
		if token > 0 {
			line += "  " + fit(r.AccessTokenPreview, token)
		}
		if last > 0 {
			lr := "—"
			if r.LastRefresh != nil && !r.LastRefresh.IsZero() {
				lr = r.LastRefresh.Format("15:04:05")
			}
			line += "  " + fit(lr, last)
		}
		b.WriteString(line)
	}
	t.rendered = b.String()
	return t
}

func expiresCell(st *Styles, r auth.Status, now time.Time, w int) string {
	if r.ExpiresAt == nil || r.ExpiresAt.IsZero() || (!r.Authenticated && r.State != auth.StateExpired) {
		return st.Muted.Render(fit("—", w))
	}
	left := r.ExpiresAt.Sub(now)
	cell := fit(formatLeft(left), w)
	// The countdown takes the colour of the row's state when auth gave
	// one (it knows the refresh window), so a row never reads "logged in"
	// beside a red countdown; the fixed thresholds are the fallback.
	u := urgencyOf(left)
	if r.State != "" && left > 0 {
		u = stateUrgency(stateLabel(r))
	}
	switch u {
	case urgencyAlarm:
		return st.Alarm.Render(cell)
	case urgencyWarning:
		return st.Warning.Render(cell)
	default:
		return st.Calm.Render(cell)
	}
}

// lifeWidth is the lifetime bar's column.
const lifeWidth = 8

// lifeBar draws how much of the token's life is left: full when it was
// just issued, empty when it runs out, in the countdown's colour. Without
// an issue time (or expiry) there is nothing to draw.
func lifeBar(st *Styles, r auth.Status, now time.Time, w int) string {
	issued := r.ObtainedAt
	if issued.IsZero() && r.LastRefresh != nil {
		issued = *r.LastRefresh
	}
	if r.ExpiresAt == nil || issued.IsZero() || !r.ExpiresAt.After(issued) || !r.Authenticated {
		return strings.Repeat(" ", w)
	}
	total, left := r.ExpiresAt.Sub(issued), r.ExpiresAt.Sub(now)
	full := int(float64(w)*float64(left)/float64(total) + 0.5)
	full = max(min(full, w), 0)
	if left > 0 {
		full = max(full, 1) // a sliver while any life is left
	}
	bar := strings.Repeat("█", full) + strings.Repeat("░", w-full)
	u := urgencyOf(left)
	if r.State != "" && left > 0 {
		u = stateUrgency(stateLabel(r))
	}
	switch u {
	case urgencyAlarm:
		return st.Alarm.Render(bar)
	case urgencyWarning:
		return st.Warning.Render(bar)
	}
	return st.Calm.Render(bar)
}

// accountCell is a row's account: its identity for a provider without
// accounts; for an account, its name, marked "*" when active, and the
// identity when it says more.
func accountCell(r auth.Status) string {
	id := r.Email
	if id == "" {
		id = r.AccountID
	}
	if r.Account == "" {
		return id
	}
	mark := "  "
	if r.Active {
		mark = "* "
	}
	cell := mark + r.Account
	if id != "" && id != r.Account {
		cell += " · " + id
	}
	return cell
}
