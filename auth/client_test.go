package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// TestCallFaults feeds Config.Call, the one client every provider endpoint
// call goes through, the faults a server shows: each comes back as the
// *Error kind callers branch on, with the server's Retry-After kept.
func TestCallFaults(t *testing.T) {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"token":"tid=1"}`)
	})
	mux.HandleFunc("/503", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/429", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "12")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	mux.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html>Sign in to the Wi-Fi</html>")
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusTemporaryRedirect)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release)

	tests := []struct {
		name  string
		path  string
		key   string
		kind  error // nil: success
		retry time.Duration
	}{
		{name: "ok", path: "/ok"},
		{name: "503", path: "/503", kind: ErrTransient},
		{name: "429 with Retry-After", path: "/429", kind: ErrTransient, retry: 12 * time.Second},
		{name: "reset connection", path: "/reset", kind: ErrTransient},
		{name: "slow answer", path: "/slow", kind: ErrTransient},
		{name: "HTML where JSON belongs", path: "/html", kind: ErrMisconfigured},
		{name: "redirect of a keyed endpoint is refused", path: "/moved", key: "token_url", kind: ErrMisconfigured},
		{name: "redirect without a key is followed", path: "/moved"},
	}
	cfg := &Config{Provider: "demo", Clock: clockwork.NewFakeClockAt(t0),
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 100 * time.Millisecond}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out struct{ Token string }
			_, err := cfg.Call(context.Background(), "refresh", Request{Method: http.MethodGet, URL: srv.URL + tc.path, Key: tc.key}, &out)
			if tc.kind == nil {
				if err != nil || out.Token != "tid=1" {
					t.Fatalf("Call = %v, token %q", err, out.Token)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want an *Error of kind %v", err, tc.kind)
			}
			if ae.RetryAfter != tc.retry {
				t.Errorf("RetryAfter = %v, want %v", ae.RetryAfter, tc.retry)
			}
			var re *RedirectError
			if tc.key != "" && (!errors.As(err, &re) || re.Key != "providers.demo."+tc.key) {
				t.Errorf("err = %v, want a RedirectError naming providers.demo.%s", err, tc.key)
			}
		})
	}
}
