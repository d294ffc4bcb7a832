package quota

import (
	"strings"
	"testing"
	"time"
)

func win(name string, used float64, st Status) Window {
	return Window{Name: name, UsedPercent: used, Status: st}
}

func TestSettleBinding(t *testing.T) {
	tests := []struct {
		name    string
		windows []Window
		claim   string
		server  Status
		binding string
		status  Status
	}{
		{"the server's claim wins over a fuller window", []Window{win("5h", 30, Allowed), win("7d", 80, Warning)}, "5h", "", "5h", Warning},
		{"no claim: the fullest binds", []Window{win("primary", 30, Allowed), win("secondary", 60, Allowed)}, "", "", "secondary", Allowed},
		{"a claim naming no window falls back to the fullest", []Window{win("5h", 10, Allowed), win("7d", 20, Allowed)}, "7d_opus", "", "7d", Allowed},
		{"a rejected window binds before a fuller warning one", []Window{win("a", 99, Warning), win("b", 100, Rejected)}, "", "", "b", Rejected},
		{"the server's overall status rides on the binding window", []Window{win("5h", 40, Allowed), win("7d", 20, Allowed)}, "5h", Rejected, "5h", Rejected},
		{"ties keep the first", []Window{win("5h", 50, Allowed), win("7d", 50, Allowed)}, "", "", "5h", Allowed},
		{"no windows: the server's status alone", nil, "", Warning, "", Warning},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Snapshot{Windows: append([]Window(nil), tc.windows...)}
			s.settle(tc.claim, tc.server)
			if s.Binding != tc.binding || s.Status != tc.status {
				t.Errorf("binding, status = %q, %s; want %q, %s", s.Binding, s.Status, tc.binding, tc.status)
			}
			if s.Rejected() != (tc.status == Rejected) {
				t.Errorf("Rejected() = %v with status %s", s.Rejected(), tc.status)
			}
		})
	}
}

func TestWindowLevel(t *testing.T) {
	tests := []struct {
		w    Window
		want int
	}{
		{win("a", 74.9, Allowed), 0},
		{win("a", 75, Allowed), 1},
		{win("a", 89.9, Warning), 1},
		{win("a", 90, Warning), 2},
		{win("a", 10, Rejected), 2},
		{win("a", 10, Warning), 1},
		{Window{Name: "a", UsageUnknown: true, Status: Allowed}, 0},
	}
	for _, tc := range tests {
		if got := tc.w.Level(); got != tc.want {
			t.Errorf("%.1f%% %s: level %d, want %d", tc.w.UsedPercent, tc.w.Status, got, tc.want)
		}
	}
}

func TestMerge(t *testing.T) {
	t0 := fixtureNow
	t1 := t0.Add(time.Minute)
	older := Snapshot{Provider: "claude", Source: FromEndpoint, ObservedAt: t0, Binding: "7d", Windows: []Window{
		{Name: "5h", UsedPercent: 10, Status: Allowed, Source: FromEndpoint, ObservedAt: t0},
		{Name: "7d", UsedPercent: 50, Status: Allowed, Source: FromEndpoint, ObservedAt: t0},
	}}
	newer := Snapshot{Provider: "claude", Source: FromHeaders, ObservedAt: t1, Binding: "5h", Windows: []Window{
		{Name: "5h", UsedPercent: 20, Status: Allowed, Source: FromHeaders, ObservedAt: t1},
		{Name: "overage", UsedPercent: 5, Status: Allowed, Source: FromHeaders, ObservedAt: t1},
	}}
	for _, m := range []Snapshot{older.Merge(newer), newer.Merge(older)} {
		if got := names(m); len(got) != 3 || got[0] != "5h" || got[1] != "7d" || got[2] != "overage" {
			t.Fatalf("windows %v, want 5h 7d overage", got)
		}
		if w, _ := m.Window("5h"); w.UsedPercent != 20 || w.Source != FromHeaders {
			t.Errorf("5h = %+v, want the newer 20%% from headers", w)
		}
		if w, _ := m.Window("7d"); w.Source != FromEndpoint || !w.ObservedAt.Equal(t0) {
			t.Errorf("7d kept as %+v, want its own endpoint source and age", w)
		}
		if m.Binding != "5h" || m.Source != FromHeaders || !m.ObservedAt.Equal(t1) {
			t.Errorf("binding %q source %s observed %s, want the newer's", m.Binding, m.Source, m.ObservedAt)
		}
	}
}

func TestAtResets(t *testing.T) {
	s := Snapshot{Binding: "5h", Windows: []Window{
		{Name: "5h", UsedPercent: 100, Status: Rejected, ResetsAt: at(10), WindowMinutes: 300},
		{Name: "7d", UsedPercent: 60, Status: Allowed, ResetsAt: at(4560), WindowMinutes: 10080},
	}}
	s.settle("5h", "")
	if before := s.At(at(9)); before.Status != Rejected || before.Binding != "5h" {
		t.Fatalf("before the reset: %s bound by %q", before.Status, before.Binding)
	}
	after := s.At(at(10))
	if after.Status != Allowed || after.Binding != "7d" {
		t.Errorf("after the reset: %s bound by %q, want allowed bound by 7d", after.Status, after.Binding)
	}
	if w, _ := after.Window("5h"); w.UsedPercent != 0 || w.Status != Allowed {
		t.Errorf("reset 5h = %+v", w)
	}
	if w, _ := s.Window("5h"); w.UsedPercent != 100 {
		t.Error("At changed the snapshot it was called on")
	}
}

func TestPace(t *testing.T) {
	// A 5h window opened 3h50m ago (it resets in 1h10m).
	fiveH := func(used float64) Window {
		return Window{Name: "5h", UsedPercent: used, ResetsAt: at(70), WindowMinutes: 300, Status: Allowed}
	}
	tests := []struct {
		name string
		w    Window
		ok   bool
		want string
	}{
		// 84% in 230m is 230/84 m per percent; 16% more takes ~43.8m.
		{"runs out before the reset", fiveH(84), true, "at this pace the 5h window runs out in 43m; it resets in 1h10m"},
		{"lasts until the reset", fiveH(42), true, "at this pace the 5h window lasts until it resets in 1h10m"},
		{"used up", fiveH(100), true, "the 5h window is used up; it resets in 1h10m"},
		{"nothing used yet", fiveH(0), true, "at this pace the 5h window lasts until it resets in 1h10m"},
		{"unknown usage", Window{Name: "5h", UsageUnknown: true, ResetsAt: at(70), WindowMinutes: 300}, false, ""},
		{"no window length", Window{Name: "x", UsedPercent: 50, ResetsAt: at(70)}, false, ""},
		{"reset already passed", Window{Name: "5h", UsedPercent: 50, ResetsAt: at(-1), WindowMinutes: 300}, false, ""},
		{"no reset", Window{Name: "5h", UsedPercent: 50, WindowMinutes: 300}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := tc.w.Pace(fixtureNow)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && f.String() != tc.want {
				t.Errorf("forecast %q\nwant     %q", f.String(), tc.want)
			}
		})
	}
}

func TestSnapshotPacePicksFirstToRunOut(t *testing.T) {
	s := Snapshot{Binding: "7d", Windows: []Window{
		{Name: "5h", UsedPercent: 84, ResetsAt: at(70), WindowMinutes: 300},
		{Name: "7d", UsedPercent: 90, ResetsAt: at(4560), WindowMinutes: 10080},
	}}
	f, ok := s.Pace(fixtureNow)
	if !ok || f.Window != "5h" || !f.RunsOut {
		t.Fatalf("pace = %+v, %v; want the 5h window running out", f, ok)
	}
	calm := Snapshot{Binding: "7d", Windows: []Window{{Name: "7d", UsedPercent: 10, ResetsAt: at(4560), WindowMinutes: 10080}}}
	if f, ok := calm.Pace(fixtureNow); !ok || f.Window != "7d" || f.RunsOut {
		t.Errorf("calm pace = %+v, %v; want the binding window, lasting", f, ok)
	}
}

func TestDuration(t *testing.T) {
	tests := map[time.Duration]string{
		-time.Minute:                  "<1m",
		59 * time.Second:              "<1m",
		42 * time.Minute:              "42m",
		70 * time.Minute:              "1h10m",
		2 * time.Hour:                 "2h",
		76 * time.Hour:                "3d4h",
		48*time.Hour + 59*time.Minute: "2d",
	}
	for d, want := range tests {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		w    Window
		want string
	}{
		{Window{UsedPercent: 41.5}, "42%"},
		{Window{UsedPercent: 11.299999}, "11%"},
		{Window{UsedPercent: 100}, "100%"},
		{Window{UsageUnknown: true}, "?"},
	}
	for _, tc := range tests {
		if got := tc.w.Percent(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.w, got, tc.want)
		}
	}
}

func TestSortWindows(t *testing.T) {
	s := Snapshot{Windows: []Window{{Name: "overage"}, {Name: "secondary"}, {Name: "7d_sonnet"}, {Name: "bengalfox_primary"},
		{Name: "7d"}, {Name: "primary"}, {Name: "7d_opus"}, {Name: "5h"}, {Name: "zzz"}, {Name: "chat"}, {Name: "premium_interactions"}}}
	s.SortWindows()
	got := strings.Join(names(s), " ")
	want := "5h 7d 7d_opus 7d_sonnet primary secondary bengalfox_primary premium_interactions chat overage zzz"
	if got != want {
		t.Errorf("order\n%s\nwant\n%s", got, want)
	}
}

func TestLabels(t *testing.T) {
	list := []Snapshot{{Provider: "claude", Account: "default"}, {Provider: "codex", Account: "personal"}, {Provider: "codex", Account: "work"}}
	got := strings.Join(Labels(list), " ")
	if got != "claude codex@personal codex@work" {
		t.Errorf("Labels = %s", got)
	}
}
