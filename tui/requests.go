package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ccproxy-tui/ccproxy-tui/internal/termsafe"
	"github.com/ccproxy-tui/ccproxy-tui/ledger"
)

// requestsModel is the requests view: the latest proxied requests, newest
// first, with their tokens and latencies, under a line of today's totals
// per provider. It reads the usage ledger when there is one (so a serve's
// requests show too), and otherwise lists what this dashboard's proxy
// served.
type requestsModel struct {
	com     *Common
	ledger  bool // rows come from the ledger rather than from events
	rows    []ledger.Record
	own     []ledger.Record // this proxy's requests, newest first
	data    usageData
	cur     int
	top     int // first row shown
	focused bool
	width   int
	height  int
}

func newRequests(com *Common, fromLedger bool) requestsModel {
	return requestsModel{com: com, ledger: fromLedger}
}

// Update takes the ledger's loads and the proxy's events, and moves the
// cursor on the keys it is sent.
func (r requestsModel) Update(msg tea.Msg) (requestsModel, tea.Cmd) {
	switch msg := msg.(type) {
	case usageLoadedMsg:
		r.data = msg.Data
		if msg.Data.Err == nil {
			r.rows = msg.Data.Recent
		}
		return r.clamp(), nil
	case proxyEventMsg:
		rec := recordOf(msg.Event)
		r.own = append([]ledger.Record{rec}, r.own[:min(len(r.own), recentLimit-1)]...)
		if !r.ledger {
			r.rows = r.own
			if r.cur > 0 || r.top > 0 { // keep the reader's place
				r.cur++
				r.top++
			}
		}
		return r.clamp(), nil
	case focusMsg:
		r.focused = msg.ID == paneRequests
		return r, nil
	case tea.KeyMsg:
		k := r.com.Keys
		switch {
		case key.Matches(msg, k.Up):
			r.cur--
		case key.Matches(msg, k.Down):
			r.cur++
		case key.Matches(msg, k.Top):
			r.cur = 0
		case key.Matches(msg, k.Bottom):
			r.cur = len(r.rows) - 1
		case key.Matches(msg, k.LogUp):
			r.cur -= max(r.listHeight(), 1)
		case key.Matches(msg, k.LogDown):
			r.cur += max(r.listHeight(), 1)
		}
		return r.clamp(), nil
	}
	return r, nil
}

// SetSize gives the view its area.
func (r requestsModel) SetSize(w, h int) requestsModel {
	r.width, r.height = w, h
	return r.clamp()
}

// Current is the request under the cursor.
func (r requestsModel) Current() (ledger.Record, bool) {
	if r.cur < 0 || r.cur >= len(r.rows) {
		return ledger.Record{}, false
	}
	return r.rows[r.cur], true
}

// listHeight is the rows' share of the pane: the totals line and the
// column heads take two.
func (r requestsModel) listHeight() int { return max(r.height-2, 0) }

func (r requestsModel) clamp() requestsModel {
	r.cur = max(min(r.cur, len(r.rows)-1), 0)
	h := r.listHeight()
	if r.cur < r.top {
		r.top = r.cur
	}
	if h > 0 && r.cur >= r.top+h {
		r.top = r.cur - h + 1
	}
	r.top = max(min(r.top, len(r.rows)-h), 0)
	return r
}

// columns are the widths of the fixed columns; the model takes the rest.
const (
	colTime, colProvider, colStatus, colTokens, colLatency = 8, 12, 3, 6, 6
)

// View draws the totals line, the column heads and the rows that fit.
func (r requestsModel) View() string {
	st := r.com.Styles
	w := r.width
	if r.height <= 0 || w <= 0 {
		return ""
	}
	lines := []string{r.totalsLine()}
	gutter := 0 // the cursor's column, while the view has the focus
	if r.focused {
		gutter = 2
	}
	modelW := w - gutter - (colTime + colProvider + colStatus + colTokens + 2*colLatency + 6)
	ttfb := modelW >= 8
	if !ttfb {
		modelW += colLatency + 1
	}
	modelW = max(modelW, 1)
	head := fit("TIME", colTime) + " " + fit("PROVIDER", colProvider) + " " + fit("MODEL", modelW) + " " +
		fit("ST", colStatus) + " " + pad("TOKENS", colTokens) + " " + pad("LAT", colLatency)
	if ttfb {
		head += " " + pad("TTFB", colLatency)
	}
	lines = append(lines, st.Muted.Render(clip(strings.Repeat(" ", gutter)+head, w)))
	if len(r.rows) == 0 {
		text := "no requests yet: start the proxy with p and point a client at it (e)"
		if r.data.Err != nil {
			text = "usage ledger unreadable: " + termsafe.Line(r.data.Err.Error())
		}
		lines = append(lines, st.Muted.Render(clip(text, w)))
		return strings.Join(lines, "\n")
	}
	end := min(r.top+r.listHeight(), len(r.rows))
	for i := r.top; i < end; i++ {
		rec := r.rows[i]
		status := strconv.Itoa(rec.Status)
		line := rec.Time.In(r.com.Now.Location()).Format("15:04:05") + " " + fit(termsafe.Line(rec.Provider), colProvider) + " " +
			fit(orDash(termsafe.Line(rec.Model)), modelW) + " " + fit(status, colStatus) + " " +
			pad(compact(rec.Tokens.Total()), colTokens) + " " + pad(millis(rec.Duration), colLatency)
		if ttfb {
			line += " " + pad(millis(rec.TTFB), colLatency)
		}
		mark := strings.Repeat(" ", gutter)
		if r.focused && i == r.cur {
			mark = "> "
		}
		line = clip(mark+line, w)
		switch {
		case rec.Status >= 500 || rec.ErrorKind != "" && rec.Status < 400:
			line = st.Alarm.Render(line)
		case rec.Status >= 400:
			line = st.Warning.Render(line)
		}
		if r.focused && i == r.cur {
			line = st.Selected.Render(line)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// totalsLine is today's requests and tokens per provider, and what the
// ledger lost when it lost anything.
func (r requestsModel) totalsLine() string {
	st := r.com.Styles
	if lost := r.data.Stats.Dropped + r.data.Stats.Failed; lost > 0 {
		text := fmt.Sprintf("ledger lost %d records (disk slow or full)", lost)
		if r.data.Stats.LastError != "" {
			text += ": " + termsafe.Line(r.data.Stats.LastError)
		}
		return st.Warning.Render(clip(text, r.width))
	}
	if !r.ledger {
		return st.Muted.Render(clip("this session's requests (no usage ledger)", r.width))
	}
	if len(r.data.Today) == 0 {
		return st.Muted.Render(clip("today: no requests", r.width))
	}
	names := make([]string, 0, len(r.data.Today))
	for p := range r.data.Today {
		names = append(names, p)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, p := range names {
		t := r.data.Today[p]
		parts[i] = fmt.Sprintf("%s %d req %s tok", termsafe.Line(p), t.Requests, compact(t.Tokens().Total()))
	}
	return clip("today: "+strings.Join(parts, " · "), r.width)
}

// pad right-aligns s in w cells.
func pad(s string, w int) string {
	if len(s) >= w {
		return s
	}
	return strings.Repeat(" ", w-len(s)) + s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// requestLines is one request, whole, for the dialog enter opens: its
// counts, and its headers (credentials masked) and bodies when kept.
func requestLines(com *Common, rec ledger.Record) []string {
	st := com.Styles
	const labelW = 14
	var lines []string
	field := func(label, value string) {
		lines = append(lines, st.Label.Render(fit(label, labelW))+termsafe.Line(value))
	}
	field("Time", rec.Time.In(com.Now.Location()).Format("2006-01-02 15:04:05.000"))
	field("Provider", rec.Provider+" · account "+orDash(rec.Account))
	field("Request", rec.Method+" "+rec.Path)
	field("Model", orDash(rec.Model))
	status := strconv.Itoa(rec.Status)
	if rec.ErrorKind != "" {
		status += " (" + rec.ErrorKind + ")"
	}
	if rec.Retried {
		status += " · retried after a refresh"
	}
	field("Status", status)
	field("Latency", millis(rec.Duration)+" · first byte after "+millis(rec.TTFB))
	field("Bytes", fmt.Sprintf("%d in · %d out", rec.BytesIn, rec.BytesOut))
	tk := rec.Tokens
	if rec.UsageSeen {
		field("Tokens", fmt.Sprintf("%d in · %d out · %d cache read · %d cache write", tk.Input, tk.Output, tk.CacheRead, tk.CacheCreation))
	} else {
		field("Tokens", "the response reported none")
	}
	if rec.Detail == nil {
		lines = append(lines, "", st.Muted.Render("Headers and bodies are not kept; [ledger] bodies = true keeps them (credentials masked)."))
		return lines
	}
	section := func(title string, text string) {
		lines = append(lines, "", st.Title.Render(title))
		for _, l := range strings.Split(termsafe.Text(text), "\n") {
			lines = append(lines, clip(l, max(com.Width-2, 10)))
		}
	}
	headers := func(h map[string][]string) string {
		names := make([]string, 0, len(h))
		for k := range h {
			names = append(names, k)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, k := range names {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(h[k], ", "))
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	section("Request headers", headers(rec.Detail.RequestHeader))
	section("Request body", string(rec.Detail.RequestBody))
	section("Response headers", headers(rec.Detail.ResponseHeader))
	section("Response body", string(rec.Detail.ResponseBody))
	return lines
}
