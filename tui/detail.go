package tui

import (
	"strings"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// detailModel shows everything known about the selected provider.
type detailModel struct {
	com      *Common
	status   auth.Status
	ok       bool
	width    int
	height   int
	rendered string
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

// Refresh re-renders after the clock moved.
func (d detailModel) Refresh() detailModel { return d.render() }

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
	d.rendered = block(strings.Join(lines, "\n"), d.width, d.height)
	return d
}
