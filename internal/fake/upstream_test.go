package fake

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func TestUpstreamReplies(t *testing.T) {
	tests := []struct {
		name, path, body, bearer string
		reject                   bool
		wantStatus               int
		wantCT                   string
		wantParts                []string
	}{
		{name: "anthropic json", path: "/v1/messages", body: `{"model":"m"}`, wantStatus: 200, wantCT: "application/json", wantParts: []string{`"type":"message"`}},
		{name: "openai chat json", path: "/v1/chat/completions", body: `{}`, wantStatus: 200, wantCT: "application/json", wantParts: []string{`"chat.completion"`}},
		{name: "responses json", path: "/backend-api/codex/responses", body: `{}`, wantStatus: 200, wantCT: "application/json", wantParts: []string{`"object":"response"`}},
		{name: "anthropic sse", path: "/v1/messages", body: `{"stream": true}`, wantStatus: 200, wantCT: "text/event-stream",
			wantParts: []string{"event: message_start", "word1 ", "word3 ", "event: message_stop"}},
		{name: "openai sse", path: "/v1/chat/completions", body: `{"stream":true}`, wantStatus: 200, wantCT: "text/event-stream", wantParts: []string{"chat.completion.chunk", "data: [DONE]"}},
		{name: "rejected token anthropic shape", path: "/v1/messages", bearer: "old", reject: true, wantStatus: 401, wantCT: "application/json", wantParts: []string{`"type":"error"`, `"authentication_error"`}},
		{name: "rejected token openai shape", path: "/responses", bearer: "old", reject: true, wantStatus: 401, wantCT: "application/json", wantParts: []string{`"error":{"message"`}},
		{name: "other token accepted", path: "/v1/messages", bearer: "new", wantStatus: 200, wantCT: "application/json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := NewUpstream(UpstreamOptions{Deltas: 3, Record: true})
			up.RejectToken("old")
			srv := httptest.NewServer(up)
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+tc.path+"?q=1", strings.NewReader(tc.body))
			if tc.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tc.bearer)
			}
			req.Header.Set("X-Seen", "yes")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("Content-Type") != tc.wantCT {
				t.Fatalf("got %d %q, want %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), tc.wantStatus, tc.wantCT, body)
			}
			for _, p := range tc.wantParts {
				if !strings.Contains(string(body), p) {
					t.Errorf("body lacks %q: %s", p, body)
				}
			}
			if tc.wantCT == "application/json" && !json.Valid(body) {
				t.Errorf("invalid JSON: %s", body)
			}
			seen := up.Requests()
			if len(seen) != 1 || up.Calls() != 1 {
				t.Fatalf("recorded %d, calls %d", len(seen), up.Calls())
			}
			if s := seen[0]; s.Path != tc.path || s.RawQuery != "q=1" || s.Header.Get("X-Seen") != "yes" || string(s.Body) != tc.body {
				t.Errorf("recorded %+v", s)
			}
		})
	}
}

// TestUpstreamPacesEvents: with an Interval, each event waits for the clock.
func TestUpstreamPacesEvents(t *testing.T) {
	clock := clockwork.NewFakeClock()
	up := NewUpstream(UpstreamOptions{Deltas: 1, Interval: time.Second, Clock: clock})
	srv := httptest.NewServer(up)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(`{"stream":true}`))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	if !strings.Contains(string(buf[:n]), "message_start") || strings.Contains(string(buf[:n]), "word1") {
		t.Fatalf("first read = %q, want only the opening event", buf[:n])
	}
	for range 2 { // the delta, then the stop event
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	rest, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(rest), "word1") || !strings.Contains(string(rest), "message_stop") {
		t.Errorf("rest = %q", rest)
	}
}

// TestUpstreamHeaderOverrides: X-Fake-Deltas and X-Fake-Pace reshape one stream.
func TestUpstreamHeaderOverrides(t *testing.T) {
	srv := httptest.NewServer(NewUpstream(UpstreamOptions{Deltas: 1, Interval: time.Hour}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(`{"stream":true}`))
	req.Header.Set("X-Fake-Deltas", "7")
	req.Header.Set("X-Fake-Pace", "0s")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if got := strings.Count(string(body), "content_block_delta\n"); got != 7 {
		t.Errorf("%d deltas, want 7: %s", got, body)
	}
}
