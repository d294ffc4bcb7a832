package proxy

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// fakeTokens hands out tokens[0] until Rejected moves to the next one.
type fakeTokens struct {
	mu         sync.Mutex // guards all fields
	tokens     []string
	i          int
	err        error // returned by Credentials
	refreshErr error // returned by Rejected
	refreshes  int
}

func newTokens(tokens ...string) *fakeTokens { return &fakeTokens{tokens: tokens} }

func (f *fakeTokens) Credentials(context.Context) (auth.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return auth.Credentials{}, f.err
	}
	if len(f.tokens) == 0 {
		return auth.Credentials{}, nil
	}
	return auth.Credentials{Provider: "fake", AccessToken: f.tokens[f.i], AccountID: "acct-1"}, nil
}

func (f *fakeTokens) Rejected(context.Context, string) (auth.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes++
	if f.refreshErr != nil {
		return auth.Credentials{}, f.refreshErr
	}
	if f.i+1 < len(f.tokens) {
		f.i++
	}
	return auth.Credentials{Provider: "fake", AccessToken: f.tokens[f.i], AccountID: "acct-1"}, nil
}

func (f *fakeTokens) refreshCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes
}

// claudeTarget behaves like the Claude provider: bearer token, no x-api-key,
// the oauth beta merged into the client's anthropic-beta list.
type claudeTarget struct{ base string }

func (c claudeTarget) BaseURL(auth.Credentials) (*url.URL, error) { return url.Parse(c.base) }
func (c claudeTarget) ErrorFormat() string                        { return FormatAnthropic }
func (c claudeTarget) Decorate(h http.Header, cr auth.Credentials) {
	h.Del("X-Api-Key")
	h.Set("Authorization", "Bearer "+cr.AccessToken)
	h.Set("Anthropic-Version", "2023-06-01")
	betas := []string{"oauth-2025-04-20"}
	for _, v := range h.Values("Anthropic-Beta") {
		for b := range strings.SplitSeq(v, ",") {
			if b = strings.TrimSpace(b); b != "" && b != "oauth-2025-04-20" {
				betas = append(betas, b)
			}
		}
	}
	h.Set("Anthropic-Beta", strings.Join(betas, ","))
}

// codexTarget behaves like the Codex provider: a base with a path, an
// account header, OpenAI's error shape.
type codexTarget struct{ base string }

func (c codexTarget) BaseURL(auth.Credentials) (*url.URL, error) { return url.Parse(c.base) }
func (c codexTarget) ErrorFormat() string                        { return FormatOpenAI }
func (c codexTarget) Decorate(h http.Header, cr auth.Credentials) {
	h.Set("Authorization", "Bearer "+cr.AccessToken)
	h.Set("ChatGPT-Account-Id", cr.AccountID)
}

// newTestServer builds a proxy over the given upstreams with test defaults.
func newTestServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}
