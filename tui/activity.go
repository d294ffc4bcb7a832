package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// logNameWidth is the provider column of the log.
const logNameWidth = 12

// maxEntries bounds the activity log; older entries fall off the end.
const maxEntries = 500

type level int

const (
	levelInfo level = iota
	levelWarn
	levelError
)

// entry is one line of the activity log.
type entry struct {
	Time     time.Time
	Provider string
	Text     string
	Level    level
}

// activityModel is the scrollable log of auth and proxy events, newest
// first. With the focus it shows a cursor, whose entry enter opens whole.
type activityModel struct {
	com     *Common
	entries []entry // newest first; never appended to in place
	shown   []int   // indexes of the entries that pass the filter
	filter  string
	cur     int // index into shown
	focused bool
	vp      viewport.Model
	// rendered is the visible lines, computed in Update.
	rendered string
}

func newActivity(com *Common) activityModel {
	vp := viewport.New(0, 0)
	vp.KeyMap = viewport.KeyMap{} // the root owns the keys
	return activityModel{com: com, vp: vp}
}

// Update adds auth and proxy events to the log and scrolls it on the keys
// it is sent: a page with the log keys, a line with the cursor keys, the
// ends with g and G (those arrive only while the log has the focus).
func (a activityModel) Update(msg tea.Msg) (activityModel, tea.Cmd) {
	switch msg := msg.(type) {
	case authEventMsg:
		return a.Add(authEntry(msg.Event)), nil
	case proxyEventMsg:
		return a.Add(proxyEntry(msg.Event)), nil
	case focusMsg:
		a.focused = msg.ID == paneLog
		return a.render(), nil
	case filterMsg:
		a.filter = msg.Text
		a.cur = 0
		a.vp.SetYOffset(0)
		return a.render(), nil
	case tea.KeyMsg:
		k := a.com.Keys
		switch {
		case key.Matches(msg, k.LogUp):
			return a.Scroll(true), nil
		case key.Matches(msg, k.LogDown):
			return a.Scroll(false), nil
		case key.Matches(msg, k.Up):
			return a.moveTo(a.cur - 1), nil
		case key.Matches(msg, k.Down):
			return a.moveTo(a.cur + 1), nil
		case key.Matches(msg, k.Top):
			return a.moveTo(0), nil
		case key.Matches(msg, k.Bottom):
			return a.moveTo(len(a.shown) - 1), nil
		}
	}
	return a, nil
}

// moveTo puts the cursor on shown entry i and scrolls it into view.
func (a activityModel) moveTo(i int) activityModel {
	a.cur = max(min(i, len(a.shown)-1), 0)
	if a.cur < a.vp.YOffset {
		a.vp.SetYOffset(a.cur)
	}
	if h := a.vp.Height; h > 0 && a.cur >= a.vp.YOffset+h {
		a.vp.SetYOffset(a.cur - h + 1)
	}
	return a.render()
}

// Current is the entry under the cursor.
func (a activityModel) Current() (entry, bool) {
	if a.cur < 0 || a.cur >= len(a.shown) {
		return entry{}, false
	}
	return a.entries[a.shown[a.cur]], true
}

// SetSize gives the log its area and re-renders the lines to fit.
func (a activityModel) SetSize(w, h int) activityModel {
	a.vp.Width, a.vp.Height = w, h
	return a.render()
}

// Add puts e at the top of the log. The slice is rebuilt, not shifted in
// place, so an older copy of the model keeps its own log.
func (a activityModel) Add(e entry) activityModel {
	// Entries quote servers, files and request paths: shown escaped.
	e.Text, e.Provider = termsafe.Line(e.Text), termsafe.Line(e.Provider)
	keep := a.entries[:min(len(a.entries), maxEntries-1)]
	a.entries = append([]entry{e}, keep...)
	// Keep the reader's place when scrolled down into older entries.
	if a.vp.YOffset > 0 && a.matches(e) {
		a.vp.YOffset++
		a.cur++
	}
	return a.render()
}

// Scroll moves the log by a page; up toward the newest entries. The cursor
// moves with the page.
func (a activityModel) Scroll(up bool) activityModel {
	before := a.vp.YOffset
	if up {
		a.vp.PageUp()
	} else {
		a.vp.PageDown()
	}
	a.cur = max(min(a.cur+a.vp.YOffset-before, len(a.shown)-1), 0)
	return a.render()
}

// Len is the number of entries held.
func (a activityModel) Len() int { return len(a.entries) }

// View returns the visible part of the log.
func (a activityModel) View() string {
	if len(a.shown) == 0 {
		text := "no activity yet"
		if a.filter != "" {
			text = "nothing in the log matches /" + a.filter
		}
		return a.com.Styles.Muted.Render(clip(text, a.vp.Width))
	}
	return a.rendered
}

// matches reports whether e passes the filter.
func (a activityModel) matches(e entry) bool {
	if a.filter == "" {
		return true
	}
	f := strings.ToLower(a.filter)
	return strings.Contains(strings.ToLower(e.Provider), f) || strings.Contains(strings.ToLower(e.Text), f)
}

func (a activityModel) render() activityModel {
	st := a.com.Styles
	w := a.vp.Width
	a.shown = a.shown[:0:0]
	for i, e := range a.entries {
		if a.matches(e) {
			a.shown = append(a.shown, i)
		}
	}
	a.cur = max(min(a.cur, len(a.shown)-1), 0)
	var b strings.Builder
	for n, i := range a.shown {
		e := a.entries[i]
		if n > 0 {
			b.WriteByte('\n')
		}
		line := e.Time.Format("15:04:05") + " " + fit(e.Provider, logNameWidth) + " " + e.Text
		if a.focused {
			gutter := "  "
			if n == a.cur {
				gutter = "> "
			}
			line = gutter + line
		}
		line = clip(line, w)
		switch e.Level {
		case levelError:
			line = st.Alarm.Render(line)
		case levelWarn:
			line = st.Warning.Render(line)
		}
		if a.focused && n == a.cur {
			line = st.Selected.Render(line)
		}
		b.WriteString(line)
	}
	y := a.vp.YOffset
	a.vp.SetContent(b.String())
	a.vp.SetYOffset(y)
	a.rendered = a.vp.View()
	return a
}

// authEntry describes an auth event for the log; only masked previews
// reach the screen. The event's own message is used when it already says
// what happened, so a line never repeats itself.
func authEntry(e auth.Event) entry {
	en := entry{Time: e.Time, Provider: withAccount(e.Provider, e.Account), Level: levelInfo}
	label := string(e.Kind)
	switch e.Kind {
	case auth.LoginStarted:
		label = "login started"
	case auth.LoginSucceeded:
		label = "logged in"
	case auth.LoginFailed:
		label, en.Level = "login failed", levelError
	case auth.RefreshStarted:
		label = "refreshing"
	case auth.RefreshSucceeded:
		label = "refreshed"
	case auth.RefreshFailed:
		label, en.Level = "refresh failed", levelError
	case auth.LoggedOut:
		label = "logged out"
	case auth.NeedsLogin:
		label, en.Level = "needs login", levelWarn
	case auth.Switched:
		label = "active account"
	}
	en.Text = label
	switch {
	case strings.HasPrefix(e.Message, label):
		en.Text = e.Message
	case e.Message != "":
		en.Text += ": " + e.Message
	}
	if e.Before != "" && e.After != "" && e.Before != e.After {
		en.Text += " · " + e.Before + " → " + e.After
	}
	if !e.ExpiresAt.IsZero() && (e.Kind == auth.RefreshSucceeded || e.Kind == auth.LoginSucceeded) {
		en.Text += " · expires " + e.ExpiresAt.Format("15:04:05")
	}
	if e.Err != nil && !strings.Contains(en.Text, e.Err.Error()) {
		en.Text += ": " + e.Err.Error()
	}
	return en
}

// proxyEntry describes one proxied request.
func proxyEntry(e proxy.Event) entry {
	en := entry{Time: e.Time, Provider: withAccount(e.Provider, e.Account), Level: levelInfo}
	if en.Provider == "" {
		en.Provider = "proxy"
	}
	took := e.Duration.Round(time.Millisecond).String()
	if e.Duration < time.Millisecond {
		took = "<1ms"
	}
	en.Text = fmt.Sprintf("%s %s → %d · %s · %dB", e.Method, e.Path, e.Status, took, e.Bytes)
	if e.Retried {
		en.Text += " · retried after refresh"
	}
	if e.FailoverFrom != "" {
		en.Text += " · failed over from " + e.FailoverFrom + ", whose usage limit was reached"
	}
	if e.Status >= 500 || e.Status == proxy.StatusClientClosed {
		en.Level = levelError
	} else if e.Status >= 400 {
		en.Level = levelWarn
	}
	return en
}

// withAccount names the account beside its provider, when there is one.
func withAccount(provider, account string) string {
	if account == "" {
		return provider
	}
	return provider + "@" + account
}
