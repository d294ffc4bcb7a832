package tui

import (
	"fmt"
	"time"
)

// urgency is how soon a token runs out, which decides its colour.
type urgency int

const (
	urgencyNone    urgency = iota // nothing counting down
	urgencyCalm                   // more than 30 minutes
	urgencyWarning                // under 30 minutes
	urgencyAlarm                  // under 5 minutes, or expired
)

// The urgency thresholds of the issue.
const (
	warnBelow  = 30 * time.Minute
	alarmBelow = 5 * time.Minute
)

func urgencyOf(left time.Duration) urgency {
	switch {
	case left < alarmBelow:
		return urgencyAlarm
	case left < warnBelow:
		return urgencyWarning
	default:
		return urgencyCalm
	}
}

// formatLeft renders a countdown compactly: 2d3h, 3h12m, 29m59s, 42s.
func formatLeft(d time.Duration) string {
	if d <= 0 {
		return "expired"
	}
	d = d.Truncate(time.Second)
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
	default:
		return fmt.Sprintf("%ds", d/time.Second)
	}
}

// formatMMSS renders the device code's countdown as 14:59.
func formatMMSS(d time.Duration) string {
	if d <= 0 {
		return "0:00"
	}
	d = d.Truncate(time.Second)
	return fmt.Sprintf("%d:%02d", d/time.Minute, d%time.Minute/time.Second)
}
