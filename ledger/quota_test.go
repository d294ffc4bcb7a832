package ledger

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

var t0 = time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)

func sampleSnapshot() quota.Snapshot {
	return quota.Snapshot{
		Provider: "claude", Account: "default", Status: quota.Warning, Binding: "5h",
		Source: quota.FromHeaders, ObservedAt: t0,
		Windows: []quota.Window{
			{Name: "5h", UsedPercent: 91.5, ResetsAt: t0.Add(2 * time.Hour), WindowMinutes: 300, Status: quota.Warning, Source: quota.FromHeaders, ObservedAt: t0},
			{Name: "7d", UsedPercent: 40, ResetsAt: t0.Add(72 * time.Hour), WindowMinutes: 10080, Status: quota.Allowed, Source: quota.FromHeaders, ObservedAt: t0},
		},
	}
}

func TestLatestQuotaOfAnEmptyLedgerIsAnEmptyList(t *testing.T) {
	got, err := openTemp(t).LatestQuota(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || len(got) != 0 {
		t.Errorf("LatestQuota = %#v, want an empty, non-nil list", got)
	}
}

func TestSaveQuotaRoundTrips(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	want := sampleSnapshot()
	if err := d.SaveQuota(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := d.LatestQuota(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []quota.Snapshot{want}) {
		t.Errorf("LatestQuota =\n%#v\nwant\n%#v", got, []quota.Snapshot{want})
	}
}

func TestSaveQuotaKeepsTheLatestPerWindow(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	if err := d.SaveQuota(ctx, sampleSnapshot()); err != nil {
		t.Fatal(err)
	}
	// A later answer from the usage endpoint that only knows the 5h window,
	// now rejected; the 7d window keeps its earlier observation.
	later := quota.Snapshot{
		Provider: "claude", Account: "default", Status: quota.Rejected, Binding: "5h",
		Source: quota.FromEndpoint, ObservedAt: t0.Add(10 * time.Minute),
		Windows: []quota.Window{{Name: "5h", UsedPercent: 100, ResetsAt: t0.Add(2 * time.Hour), WindowMinutes: 300, Status: quota.Rejected,
			Source: quota.FromEndpoint, ObservedAt: t0.Add(10 * time.Minute)}},
	}
	if err := d.SaveQuota(ctx, later); err != nil {
		t.Fatal(err)
	}
	other := quota.Snapshot{Provider: "codex", Account: "work", Status: quota.Allowed, Source: quota.FromHeaders, ObservedAt: t0,
		Windows: []quota.Window{{Name: "primary", UsedPercent: 3, WindowMinutes: 300, Status: quota.Allowed, Source: quota.FromHeaders, ObservedAt: t0}}}
	if err := d.SaveQuota(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := d.LatestQuota(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := later
	first.Windows = append(first.Windows, sampleSnapshot().Windows[1])
	want := []quota.Snapshot{first, other}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LatestQuota =\n%#v\nwant\n%#v", got, want)
	}
	var source, observed string
	if err := d.sql.QueryRow(`SELECT source, observed_at FROM quota_window WHERE name = '7d'`).Scan(&source, &observed); err != nil {
		t.Fatal(err)
	}
	if source != "headers" || observed != formatTime(t0) {
		t.Errorf("7d window kept source %q observed_at %q, want its own: headers, %s", source, observed, formatTime(t0))
	}
}

// A window the server named without saying how full it is (Anthropic's
// answers of September 2025) stays "unknown", not 0 %.
func TestSaveQuotaKeepsAnUnknownFullness(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	for _, st := range []quota.Status{quota.Allowed, quota.Rejected} {
		s := quota.Snapshot{Provider: "claude", Status: st, Binding: "5h", Source: quota.FromHeaders, ObservedAt: t0,
			Windows: []quota.Window{{Name: "5h", UsageUnknown: true, ResetsAt: t0.Add(time.Hour), WindowMinutes: 300, Status: st,
				Source: quota.FromHeaders, ObservedAt: t0}}}
		if st == quota.Rejected {
			s.Windows[0].UsedPercent = 100
		}
		if err := d.SaveQuota(ctx, s); err != nil {
			t.Fatal(err)
		}
		got, err := d.LatestQuota(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], s) {
			t.Errorf("%s: LatestQuota = %#v, want %#v", st, got, s)
		}
	}
}

func TestQuotaSurvivesReopening(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	if err := d.SaveQuota(ctx, sampleSnapshot()); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(ctx, d.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	got, err := again.LatestQuota(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].ObservedAt.Equal(t0) {
		t.Errorf("after reopening: %#v", got)
	}
}

func TestQuotaOnAClosedLedgerFails(t *testing.T) {
	d := openTemp(t)
	_ = d.Close()
	if err := d.SaveQuota(context.Background(), sampleSnapshot()); err == nil {
		t.Error("SaveQuota on a closed ledger succeeded")
	}
	if _, err := d.LatestQuota(context.Background()); err == nil {
		t.Error("LatestQuota on a closed ledger succeeded")
	}
}
