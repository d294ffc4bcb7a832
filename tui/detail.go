package tui

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

// detailModel shows everything known about the selected provider.
type detailModel struct {
	com      *Common
	status   auth.Status
	ok       bool
	quota    quota.Snapshot
	hasQuota bool
	width    int
	height   int
	scroll   scroller // the fields, when they do not all fit
	rendered string
	// logins names the login keys the provider offers ("l browser · v paste").
	logins string
	// usage is the ledger's last load: the provider's last hour and today.
	usage    usageData
	hasUsage bool
}

func newDetail(com *Common) detailModel { return detailModel{com: com} }

// SetSize gives the pane its area.
func (d detailModel) SetSize(w, h int) detailModel {
	d.width, d.height = w, h
	return d.render()
}

// SetStatus shows s; ok false shows an empty pane.
func (d detailModel) SetStatus(s auth.Status, ok bool) detailModel {
	d.status, d.ok = s, ok
	return d.render()
}

// SetLogins names the login keys the provider offers; SetStatus renders.
func (d detailModel) SetLogins(text string) detailModel {
	d.logins = text
	return d
}

// SetQuota shows s's windows and pace under the provider's fields; ok
// false shows none. SetStatus renders.
func (d detailModel) SetQuota(s quota.Snapshot, ok bool) detailModel {
	d.quota, d.hasQuota = s, ok
	return d
}

// Update scrolls the fields on the keys it is sent (while it has the
// focus) and redraws the countdowns on a tick.
func (d detailModel) Update(msg tea.Msg) (detailModel, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		if d.scroll.key(msg, d.com.Keys, d.height) {
			return d.render(), nil
		}
	case tickMsg:
		return d.render(), nil
	case usageLoadedMsg:
		if msg.Data.Err == nil {
			d.usage, d.hasUsage = msg.Data, true
		}
		return d.render(), nil
	}
	return d, nil
}

// View returns the pane as rendered by the last Update.
func (d detailModel) View() string { return d.rendered }

func (d detailModel) render() detailModel {
	st, now, s := d.com.Styles, d.com.Now, d.status
	if !d.ok {
		d.rendered = block(st.Muted.Render("no provider selected"), d.width, d.height)
		return d
	}
	const labelW = 14
	var lines []string
	field := func(label, value string) {
		lines = append(lines, st.Label.Render(fit(label, labelW))+clip(value, max(d.width-labelW, 1)))
	}
	orDash := func(v string) string {
		if v == "" {
			return "—"
		}
		return v
	}
	acct := s.Email
	if acct == "" {
		acct = s.AccountID
	}
	if s.Plan != "" {
		acct += " (" + s.Plan + ")"
	}
	field("Account", orDash(acct))
	field("Storage", orDash(s.Storage))
	field("Logins", orDash(d.logins))
	field("Scopes", orDash(strings.Join(s.Scopes, " ")))
	field("Access token", orDash(s.AccessTokenPreview))
	field("Refresh token", orDash(s.RefreshTokenPreview))
	exp := "—"
	if s.ExpiresAt != nil && !s.ExpiresAt.IsZero() {
		exp = s.ExpiresAt.Format(time.RFC3339) + " (" + formatLeft(s.ExpiresAt.Sub(now)) + ")"
	}
	field("Expires at", exp)
	next := "not scheduled"
	if !s.NextRefresh.IsZero() {
		next = s.NextRefresh.Format(time.RFC3339) + " (in " + formatLeft(s.NextRefresh.Sub(now)) + ")"
	}
	if !s.NextAttempt.IsZero() {
		next = "retry at " + s.NextAttempt.Format(time.RFC3339)
	}
	field("Next refresh", next)
	lr := "—"
	if s.LastRefresh != nil && !s.LastRefresh.IsZero() {
		lr = s.LastRefresh.Format(time.RFC3339)
	}
	field("Last refresh", lr)
	le := "—"
	if s.LastError != "" {
		le = st.Alarm.Render(s.LastError)
	} else if s.Reason != "" {
		le = s.Reason
	}
	field("Last error", le)
	if d.hasUsage {
		var reqs, toks []int64
		var nReq, nTok int64
		for _, p := range d.usage.Series[s.Provider] {
			reqs, toks = append(reqs, p.Requests), append(toks, p.Tokens)
			nReq, nTok = nReq+p.Requests, nTok+p.Tokens
		}
		if len(reqs) == 0 {
			reqs, toks = make([]int64, sparkSteps), make([]int64, sparkSteps)
		}
		field("Last hour", fmt.Sprintf("%s %d req · %s %s tok", sparkline(reqs), nReq, sparkline(toks), compact(nTok)))
		t := d.usage.Today[s.Provider]
		today := fmt.Sprintf("%d req · %s tok", t.Requests, compact(t.Tokens().Total()))
		if t.Errors > 0 {
			today += fmt.Sprintf(" · %d errors", t.Errors)
		}
		field("Today", today)
	}
	if d.hasQuota {
		for _, f := range quotaDetail(d.com, d.quota) {
			if f[0] != "Pace" {
				field(f[0], f[1])
				continue
			}
			for i, l := range wrapWords(f[1], max(d.width-labelW, 1)) {
				if i == 0 {
					field(f[0], l)
				} else {
					field("", l)
				}
			}
		}
	}
	d.rendered = block(d.scroll.window(lines, d.height), d.width, d.height)
	return d
}
