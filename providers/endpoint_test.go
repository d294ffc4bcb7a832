package providers

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// testNow is the fake clock's start; the synthetic tokens in testdata are
// built around it.
var testNow = time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)

// seenRequest is what an endpoint received, decoded by content type.
type seenRequest struct {
	Method      string
	Path        string
	ContentType string
	Header      http.Header
	Form        url.Values     // form bodies
	JSON        map[string]any // JSON bodies
}

// endpoint is a loopback stub that records every request and answers each
// path with a fixed status and body.
type endpoint struct {
	*httptest.Server
	mu      sync.Mutex // guards seen, replies and headers
	seen    []seenRequest
	replies map[string][]reply
	headers map[string]http.Header // extra response headers per path
}

// header adds a response header to every answer for path.
func (e *endpoint) header(path, key, value string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.headers == nil {
		e.headers = map[string]http.Header{}
	}
	if e.headers[path] == nil {
		e.headers[path] = http.Header{}
	}
	e.headers[path].Set(key, value)
}

type reply struct {
	status int
	body   string
}

func newEndpoint(t *testing.T) *endpoint {
	t.Helper()
	e := &endpoint{replies: map[string][]reply{}}
	e.Server = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.Close)
	return e
}

// on queues replies for path; the last one repeats.
func (e *endpoint) on(path string, status int, body string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.replies[path] = append(e.replies[path], reply{status, body})
}

// answer replaces path's queued replies with one that repeats.
func (e *endpoint) answer(path string, status int, body string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.replies[path] = []reply{{status, body}}
}

func (e *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	s := seenRequest{Method: r.Method, Path: r.URL.Path, ContentType: ct, Header: r.Header.Clone()}
	switch ct {
	case "application/x-www-form-urlencoded":
		s.Form, _ = url.ParseQuery(string(raw))
	case "application/json":
		_ = json.Unmarshal(raw, &s.JSON)
	}
	e.mu.Lock()
	e.seen = append(e.seen, s)
	q := e.replies[r.URL.Path]
	var rep reply
	switch len(q) {
	case 0:
		rep = reply{http.StatusNotFound, `{"error":"not_found"}`}
	case 1:
		rep = q[0]
	default:
		rep, e.replies[r.URL.Path] = q[0], q[1:]
	}
	for k, vs := range e.headers[r.URL.Path] {
		w.Header()[k] = vs
	}
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

func (e *endpoint) requests(path string) []seenRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []seenRequest
	for _, s := range e.seen {
		if s.Path == path {
			out = append(out, s)
		}
	}
	return out
}

func (e *endpoint) last(t *testing.T, path string) seenRequest {
	t.Helper()
	rs := e.requests(path)
	if len(rs) == 0 {
		t.Fatalf("no request reached %s", path)
	}
	return rs[len(rs)-1]
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "tokens", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// registry builds a registry whose providers talk to loopback only.
func registry(t *testing.T, clock clockwork.Clock, providers map[string]Spec, opts ...Option) *Registry {
	t.Helper()
	r, err := NewRegistry(providers, append([]Option{WithClock(clock)}, opts...)...)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return r
}

func get(t *testing.T, r *Registry, name string) *Provider {
	t.Helper()
	p, err := r.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// keysOf lists a JSON body's fields.
func keysOf(m map[string]any) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func formKeys(v url.Values) map[string]bool {
	out := map[string]bool{}
	for k := range v {
		out[k] = true
	}
	return out
}

func set(keys ...string) map[string]bool {
	out := map[string]bool{}
	for _, k := range keys {
		out[k] = true
	}
	return out
}

func mustJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
