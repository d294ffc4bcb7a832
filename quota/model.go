package quota

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Thresholds of the meters, in percent used. WarnAt turns a window's status
// to warning and its meter to the warning colour; AlarmAt turns the meter to
// the alarm colour; a window at Full refuses requests unless the plan allows
// overage.
const (
	WarnAt  = 75.0
	AlarmAt = 90.0
	Full    = 100.0
)

// Crossings are the levels the activity log announces when a window passes
// them.
var Crossings = []float64{WarnAt, AlarmAt, Full}

// statusAt is the status a window earns from how full it is alone, for
// providers whose answer carries no status of its own.
func statusAt(used float64) Status {
	switch {
	case used >= Full:
		return Rejected
	case used >= WarnAt:
		return Warning
	}
	return Allowed
}

// settle fills the binding window and the overall status. claim is the
// window the server says binds (Anthropic's representative claim), server
// the overall status it sent; either may be empty. The server's status is
// carried by the binding window, so the overall status is always the worst
// of the windows and survives a Merge.
func (s *Snapshot) settle(claim string, server Status) {
	s.Binding = ""
	if _, ok := s.Window(claim); ok && claim != "" {
		s.Binding = claim
	} else {
		s.Binding = s.fullest()
	}
	st := Allowed
	for i := range s.Windows {
		w := &s.Windows[i]
		if w.Name == s.Binding && server != "" {
			w.Status = w.Status.Worse(server)
		}
		if w.Status == "" {
			w.Status = Allowed
		}
		st = st.Worse(w.Status)
	}
	if len(s.Windows) == 0 {
		st = st.Worse(server)
	}
	s.Status = st
}

// fullest names the window closest to refusing: the worst status first, then
// the highest percentage.
func (s *Snapshot) fullest() string {
	best, bestRank, bestUsed := "", -1, -1.0
	for _, w := range s.Windows {
		r := w.Status.rank()
		if r > bestRank || (r == bestRank && w.UsedPercent > bestUsed) {
			best, bestRank, bestUsed = w.Name, r, w.UsedPercent
		}
	}
	return best
}

// Merge lays newer over s: a window newer mentions replaces the one of the
// same name, windows it does not mention are kept with their own source and
// age, and the binding is newer's when that window is known. Both must be
// the same provider and account; newer's identity wins.
func (s Snapshot) Merge(newer Snapshot) Snapshot {
	if s.ObservedAt.After(newer.ObservedAt) {
		// An answer that arrived late must not undo a fresher one.
		return newer.Merge(s)
	}
	out := newer
	// Keep a stable order: the older answer's windows where they stood,
	// each replaced by its newer namesake, then the ones only newer has.
	out.Windows = make([]Window, 0, len(s.Windows)+len(newer.Windows))
	for _, w := range s.Windows {
		if nw, ok := newer.Window(w.Name); ok {
			w = nw
		}
		out.Windows = append(out.Windows, w)
	}
	for _, w := range newer.Windows {
		if _, ok := s.Window(w.Name); !ok {
			out.Windows = append(out.Windows, w)
		}
	}
	claim := newer.Binding
	if claim == "" {
		claim = s.Binding
	}
	out.settle(claim, "")
	return out
}

// At is the snapshot as it stands at now: a window whose reset time has
// passed is empty again (its server-given status no longer holds), and the
// overall status and binding follow.
func (s Snapshot) At(now time.Time) Snapshot {
	changed := false
	for _, w := range s.Windows {
		if w.Reset(now) {
			changed = true
			break
		}
	}
	if !changed {
		return s
	}
	out := s
	out.Windows = make([]Window, len(s.Windows))
	for i, w := range s.Windows {
		if w.Reset(now) {
			w.UsedPercent, w.Status, w.UsageUnknown = 0, Allowed, false
		}
		out.Windows[i] = w
	}
	binding := s.Binding
	if w, ok := s.Window(binding); ok && w.Reset(now) {
		binding = ""
	}
	out.settle(binding, "")
	return out
}

// Reset reports whether the window's reset time has come by now.
func (w Window) Reset(now time.Time) bool {
	return !w.ResetsAt.IsZero() && !now.Before(w.ResetsAt)
}

// Level is the meter band of a window: 0 calm, 1 warning (≥ WarnAt), 2
// alarm (≥ AlarmAt or rejected). The dashboard colours by it.
func (w Window) Level() int {
	switch {
	case w.Status == Rejected || (!w.UsageUnknown && w.UsedPercent >= AlarmAt):
		return 2
	case w.Status == Warning || (!w.UsageUnknown && w.UsedPercent >= WarnAt):
		return 1
	}
	return 0
}

// Forecast is where a window is heading at the pace it has been used since
// it opened.
type Forecast struct {
	Window string
	// RunsOut is set when, at this pace, the window fills before it
	// resets; RunsOutIn is then how soon (0 when it is full already).
	RunsOut   bool
	RunsOutIn time.Duration
	// ResetsIn is the time left until the window empties.
	ResetsIn time.Duration
	// Full is set when the window is used up now.
	Full bool
}

// Pace forecasts w at now from the average rate since the window opened
// (ResetsAt minus WindowMinutes). It needs a known percentage, the window's
// length and a reset still ahead; without them there is no forecast.
func (w Window) Pace(now time.Time) (Forecast, bool) {
	if w.UsageUnknown || w.WindowMinutes <= 0 || w.ResetsAt.IsZero() || !now.Before(w.ResetsAt) {
		return Forecast{}, false
	}
	f := Forecast{Window: w.Name, ResetsIn: w.ResetsAt.Sub(now)}
	if w.UsedPercent >= Full {
		f.Full, f.RunsOut = true, true
		return f, true
	}
	opened := w.ResetsAt.Add(-time.Duration(w.WindowMinutes) * time.Minute)
	elapsed := now.Sub(opened)
	if elapsed <= 0 || w.UsedPercent <= 0 {
		return f, true
	}
	perPercent := float64(elapsed) / w.UsedPercent
	left := time.Duration(perPercent * (Full - w.UsedPercent))
	if left < f.ResetsIn {
		f.RunsOut, f.RunsOutIn = true, left
	}
	return f, true
}

// String is the forecast as the dashboard says it.
func (f Forecast) String() string {
	switch {
	case f.Full:
		return fmt.Sprintf("the %s window is used up; it resets in %s", f.Window, Duration(f.ResetsIn))
	case f.RunsOut:
		return fmt.Sprintf("at this pace the %s window runs out in %s; it resets in %s", f.Window, Duration(f.RunsOutIn), Duration(f.ResetsIn))
	}
	return fmt.Sprintf("at this pace the %s window lasts until it resets in %s", f.Window, Duration(f.ResetsIn))
}

// Pace is the forecast that matters most for s at now: the window that
// runs out first, else the binding one.
func (s Snapshot) Pace(now time.Time) (Forecast, bool) {
	var best Forecast
	found := false
	for _, w := range s.Windows {
		f, ok := w.Pace(now)
		if !ok || !f.RunsOut {
			continue
		}
		if !found || f.RunsOutIn < best.RunsOutIn {
			best, found = f, true
		}
	}
	if found {
		return best, true
	}
	if w, ok := s.Window(s.Binding); ok {
		return w.Pace(now)
	}
	return Forecast{}, false
}

// windowOrder is the order screens list windows in: the short windows
// before the long ones, each provider's together.
var windowOrder = []string{"5h", "7d", "primary", "secondary", "premium_interactions", "premium_models", "chat", "completions", "session", "weekly", "overage"}

func orderRank(name string) (int, string) {
	for i, n := range windowOrder {
		if n == name {
			return i, ""
		}
	}
	switch {
	case strings.HasPrefix(name, "7d_"):
		return 1, name // after 7d, by name
	case strings.HasSuffix(name, "_primary"), strings.HasSuffix(name, "_secondary"):
		return 3, name // after secondary
	}
	return len(windowOrder), name
}

// SortWindows puts s's windows in screen order (5h, 7d, 7d_<family>,
// overage last; primary, secondary, then other families), so every view
// lists them alike whatever order the wire or the store gave.
func (s *Snapshot) SortWindows() {
	sort.SliceStable(s.Windows, func(i, j int) bool {
		ri, ni := orderRank(s.Windows[i].Name)
		rj, nj := orderRank(s.Windows[j].Name)
		if ri != rj {
			return ri < rj
		}
		return ni < nj
	})
}
