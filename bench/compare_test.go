package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// BenchmarkHop compares the bare ReverseProxy and ccproxy (alone, and
// recording into a usage ledger and keeping the quota as serve does) in one process,
// where scheduling noise from other processes matters less than in the
// multi-process run: the ns/op and allocs/op ratio is the proxy's own cost.
func BenchmarkHop(b *testing.B) {
	// Every answer carries Anthropic's quota headers, as Claude's do.
	up := httptest.NewServer(fake.NewUpstream(fake.UpstreamOptions{Quota: map[string]fake.QuotaPlan{"/v1": {Family: fake.QuotaAnthropic, Used: 42}}}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	cc, err := proxy.New(proxy.Options{Upstreams: []proxy.Upstream{{Name: "claude", Target: benchTarget{base: u}, Tokens: memTokens{}}}})
	if err != nil {
		b.Fatal(err)
	}
	w, db, closeLedger, err := benchLedger()
	if err != nil {
		b.Fatal(err)
	}
	defer closeLedger()
	withLedger, err := proxy.New(proxy.Options{Upstreams: []proxy.Upstream{{Name: "claude", Target: benchTarget{base: u}, Tokens: memTokens{}}},
		Record: func(ev proxy.Event) { w.Add(app.LedgerRecord(ev)) }})
	if err != nil {
		b.Fatal(err)
	}
	defer keepQuota(withLedger, db)()
	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"bare", newBare(u, benchToken)}, {"ccproxy", cc.Handler()}, {"ccproxy+ledger", withLedger.Handler()}} {
		for _, mode := range []struct{ name, body string }{{"json", jsonBody}, {"sse", streamBody}} {
			b.Run(h.name+"/"+mode.name, func(b *testing.B) {
				srv := httptest.NewServer(h.h)
				defer srv.Close()
				b.ReportAllocs()
				for b.Loop() {
					resp, err := srv.Client().Post(srv.URL+"/claude/v1/messages", "application/json", strings.NewReader(mode.body))
					if err != nil {
						b.Fatal(err)
					}
					buf := make([]byte, 4096)
					for {
						if _, err := resp.Body.Read(buf); err != nil {
							break
						}
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		}
	}
}
