package ledger

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/usage"
)

func rec(at time.Time, provider, model string, status int, tk usage.Tokens) Record {
	return Record{Time: at, Provider: provider, Method: "POST", Path: "/" + provider + "/v1/messages", Model: model,
		Status: status, Duration: 1500 * time.Millisecond, TTFB: 250 * time.Millisecond, BytesIn: 100, BytesOut: 2000,
		UsageSeen: tk != (usage.Tokens{}), Tokens: tk}
}

func seeded(t *testing.T) *DB {
	t.Helper()
	d := openTemp(t)
	d.SetLocation(time.UTC)
	recs := []Record{
		rec(t0.Add(-48*time.Hour), "claude", "claude-opus-4-1", 200, usage.Tokens{Input: 1, Output: 2, CacheRead: 3, CacheCreation: 4}),
		rec(t0.Add(-2*time.Hour), "claude", "claude-sonnet-4-5", 200, usage.Tokens{Input: 10, Output: 20, CacheRead: 30, CacheCreation: 40}),
		rec(t0.Add(-time.Hour), "claude", "claude-sonnet-4-5", 429, usage.Tokens{}),
		rec(t0.Add(-30*time.Minute), "codex", "gpt-5-codex", 200, usage.Tokens{Input: 100, Output: 200, CacheRead: 300}),
	}
	recs[3].Account = "work"
	recs[1].ErrorKind = "upstream_cut" // a 200 that broke off still counts as an error
	if err := d.Insert(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSummary(t *testing.T) {
	d := seeded(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		since time.Time
		by    Group
		want  []Row
	}{
		{"by provider, 24h", t0.Add(-24 * time.Hour), ByProvider, []Row{
			{Provider: "claude", Requests: 2, Errors: 2, InputTokens: 10, OutputTokens: 20, CacheReadTokens: 30, CacheCreationTokens: 40},
			{Provider: "codex", Requests: 1, InputTokens: 100, OutputTokens: 200, CacheReadTokens: 300},
		}},
		{"by model, all", time.Time{}, ByModel, []Row{
			{Model: "claude-opus-4-1", Requests: 1, InputTokens: 1, OutputTokens: 2, CacheReadTokens: 3, CacheCreationTokens: 4},
			{Model: "claude-sonnet-4-5", Requests: 2, Errors: 2, InputTokens: 10, OutputTokens: 20, CacheReadTokens: 30, CacheCreationTokens: 40},
			{Model: "gpt-5-codex", Requests: 1, InputTokens: 100, OutputTokens: 200, CacheReadTokens: 300},
		}},
		{"by day", time.Time{}, ByDay, []Row{
			{Day: "2026-11-29", Requests: 1, InputTokens: 1, OutputTokens: 2, CacheReadTokens: 3, CacheCreationTokens: 4},
			{Day: "2026-12-01", Requests: 3, Errors: 2, InputTokens: 110, OutputTokens: 220, CacheReadTokens: 330, CacheCreationTokens: 40},
		}},
		{"by account", time.Time{}, ByAccount, []Row{
			{Account: "default", Requests: 3, Errors: 2, InputTokens: 11, OutputTokens: 22, CacheReadTokens: 33, CacheCreationTokens: 44},
			{Account: "work", Requests: 1, InputTokens: 100, OutputTokens: 200, CacheReadTokens: 300},
		}},
		{"since the middle of a day", t0.Add(-90 * time.Minute), ByProvider, []Row{
			{Provider: "claude", Requests: 1, Errors: 1},
			{Provider: "codex", Requests: 1, InputTokens: 100, OutputTokens: 200, CacheReadTokens: 300},
		}},
		{"nothing since", t0.Add(time.Hour), ByProvider, []Row{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.Summary(ctx, tc.since, tc.by)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Summary =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
	if _, err := d.Summary(ctx, t0, Group("path; DROP TABLE request")); err == nil {
		t.Error("an unknown grouping was accepted")
	}
}

func TestRecentAndGet(t *testing.T) {
	d := seeded(t)
	ctx := context.Background()
	got, err := d.Recent(ctx, time.Time{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Provider != "codex" || got[1].Status != 429 {
		t.Fatalf("Recent(2) = %+v", got)
	}
	want := rec(t0.Add(-30*time.Minute), "codex", "gpt-5-codex", 200, usage.Tokens{Input: 100, Output: 200, CacheRead: 300})
	want.ID, want.Account = got[0].ID, "work"
	want.Time = want.Time.Local()
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("Recent[0] =\n%+v\nwant\n%+v", got[0], want)
	}
	one, err := d.Get(ctx, got[0].ID)
	if err != nil || !reflect.DeepEqual(one, want) {
		t.Errorf("Get = %+v, %v", one, err)
	}
	if _, err := d.Get(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(9999): %v, want ErrNotFound", err)
	}
}

func TestDetailIsStoredMasked(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	r := rec(t0, "claude", "m", 200, usage.Tokens{Input: 1})
	r.Detail = &Detail{
		RequestHeader: http.Header{"Authorization": {"Bearer sk-ant-oat01-secret"}, "X-Api-Key": {"proxy-key-secret"},
			"Anthropic-Beta": {"oauth-2025-04-20"}, "Cookie": {"session=cookie-secret"}, "X-Custom-Session-Token": {"custom-secret"}},
		RequestBody:    []byte(`{"model":"m"}`),
		ResponseHeader: http.Header{"Set-Cookie": {"cf=set-cookie-secret"}, "Content-Type": {"application/json"}},
		ResponseBody:   []byte(`{"usage":{"input_tokens":1}}`),
	}
	recs := []Record{r}
	if err := d.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, err := d.Get(ctx, recs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	h := got.Detail.RequestHeader
	if h.Get("Authorization") != Masked || h.Get("X-Api-Key") != Masked || h.Get("Cookie") != Masked ||
		h.Get("X-Custom-Session-Token") != Masked || h.Get("Anthropic-Beta") != "oauth-2025-04-20" {
		t.Errorf("request header read back as %v", h)
	}
	if got.Detail.ResponseHeader.Get("Set-Cookie") != Masked || string(got.Detail.ResponseBody) != `{"usage":{"input_tokens":1}}` {
		t.Errorf("response read back as %+v", got.Detail)
	}
	assertFileLacks(t, d, "sk-ant-oat01-secret", "proxy-key-secret", "cookie-secret", "custom-secret")
}

func TestPrune(t *testing.T) {
	d := seeded(t)
	ctx := context.Background()
	n, err := d.Prune(ctx, t0.Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	left, _ := d.Recent(ctx, time.Time{}, 10)
	if len(left) != 3 {
		t.Errorf("%d records left, want 3", len(left))
	}
	days, err := d.Summary(ctx, time.Time{}, ByDay)
	if err != nil || len(days) != 1 || days[0].Day != "2026-12-01" || days[0].Requests != 3 {
		t.Errorf("per-day totals after pruning: %+v, %v", days, err)
	}
}

func TestSeries(t *testing.T) {
	d := seeded(t)
	got, err := d.Series(context.Background(), t0.Add(-time.Hour), 10*time.Minute, 6)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Point{
		"claude": {{Requests: 1}, {}, {}, {}, {}, {}},
		"codex":  {{}, {}, {}, {Requests: 1, Tokens: 600}, {}, {}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Series = %+v, want %+v", got, want)
	}
}
