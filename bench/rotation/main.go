// Command rotation measures what the README claims: many clients sharing
// subscriptions whose refresh tokens are single-use, through one proxy,
// over several rotations of short-lived tokens. It runs a fake OAuth server
// per provider (8 s access tokens, rotating refresh tokens, a reused one
// refused with invalid_grant) and a fake API that rejects any access token
// its server did not issue or that expired, then starts N concurrent
// clients through ccproxy-tui's proxy. It prints the requests and the
// failures. With -direct it instead gives every client its own copy of the
// refresh token, as separate CLI sessions have, and counts the failures
// that rotation causes.
//
//	go run ./bench/rotation            # 18 clients, 5 rotations, through the proxy
//	go run ./bench/rotation -direct    # the same clients refreshing by themselves
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

const clientID = "rotation-bench"

func main() {
	clients := flag.Int("clients", 18, "concurrent clients, split between the two providers")
	ttl := flag.Duration("ttl", 8*time.Second, "access token lifetime")
	rotations := flag.Int("rotations", 5, "how many token lifetimes to run for")
	direct := flag.Bool("direct", false, "clients refresh by themselves from one shared refresh token, without the proxy")
	flag.Parse()
	if err := run(*clients, *ttl, *rotations, *direct); err != nil {
		fmt.Fprintln(os.Stderr, "rotation:", err)
		os.Exit(1)
	}
}

type provider struct {
	name, format, path string
	srv                *fake.OAuthServer
}

func run(clients int, ttl time.Duration, rotations int, direct bool) error {
	ctx := context.Background()
	ps := []*provider{
		{name: "claude-like", format: "anthropic", path: "/v1/messages"},
		{name: "codex-like", format: "", path: "/responses"},
	}
	for _, p := range ps {
		p.srv = fake.NewOAuthServer(fake.WithClientID(clientID), fake.WithAccessTTL(ttl), fake.WithIdentity("u-"+p.name, "ada@"+p.name+".test"))
		defer p.srv.Close()
	}
	accept := func(tok string) bool {
		for _, p := range ps {
			if p.srv.ValidAccessToken(tok) {
				return true
			}
		}
		return false
	}
	upstream := httptest.NewServer(fake.NewUpstream(fake.UpstreamOptions{Accept: accept}))
	defer upstream.Close()

	duration := time.Duration(rotations) * ttl
	var requests, failures atomic.Int64
	var firstErr sync.Once
	var sample string
	fail := func(what string) {
		failures.Add(1)
		firstErr.Do(func() { sample = what })
	}
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup

	if direct {
		// Each client starts from the same refresh token, as sessions
		// that copied one login do, and refreshes when its token expires.
		shared := map[string]string{}
		for _, p := range ps {
			shared[p.name] = p.srv.IssueRefreshToken(clientID, "openid offline_access")
		}
		for i := range clients {
			p := ps[i%len(ps)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				rt, at, exp := shared[p.name], "", time.Time{}
				for time.Now().Before(deadline) {
					if time.Now().After(exp) {
						tok, err := refresh(ctx, p.srv.Issuer()+"/token", rt)
						if err != nil {
							requests.Add(1)
							fail(fmt.Sprintf("%s refresh: %v", p.name, err))
							time.Sleep(time.Second)
							continue
						}
						rt, at, exp = tok.RefreshToken, tok.AccessToken, time.Now().Add(ttl-time.Second)
					}
					requests.Add(1)
					if code, body := call(ctx, upstream.URL+p.path, at); code != http.StatusOK {
						fail(fmt.Sprintf("%s: %d %s", p.name, code, body))
					}
					time.Sleep(200 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
		reuse := 0
		for _, p := range ps {
			reuse += p.srv.Counts().Reuse
		}
		report(fmt.Sprintf("direct, each client refreshing itself (%d reused refresh tokens refused)", reuse), clients, ttl, rotations, requests.Load(), failures.Load(), sample)
		return nil
	}

	cfg := config.Default()
	cfg.Proxy.Listen = "127.0.0.1:0"
	cfg.Refresh.Grace = config.Duration{Duration: ttl / 4}
	off := false
	for _, b := range []string{"claude", "codex", "copilot"} {
		cfg.Providers[b] = config.Provider{Enabled: &off}
	}
	for _, p := range ps {
		cfg.Providers[p.name] = config.Provider{Type: "oidc", Issuer: p.srv.Issuer(), ClientID: clientID,
			Scopes: []string{"openid", "offline_access"}, APIBase: upstream.URL + "/" + p.name, APIFormat: p.format}
	}
	a, err := app.New(app.Options{Config: cfg, Store: store.NewMemory()})
	if err != nil {
		return err
	}
	for _, p := range ps {
		rt := p.srv.IssueRefreshToken(clientID, "openid offline_access")
		if _, err := a.Adopt(ctx, "", auth.Credentials{Version: 1, Provider: p.name, RefreshToken: rt, TokenType: "Bearer", Scopes: []string{"openid", "offline_access"}}); err != nil {
			return err
		}
		if _, err := a.Refresh(ctx, p.name); err != nil {
			return err
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go a.Run(runCtx)
	if err := a.Proxy().Start(runCtx); err != nil {
		return err
	}
	defer func() { _ = a.Proxy().Stop(ctx) }()
	base := a.Proxy().URL()
	for i := range clients {
		p := ps[i%len(ps)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				requests.Add(1)
				// A client holds no secret: the proxy puts the token on.
				if code, body := call(ctx, base+"/"+p.name+p.path, "ccproxy-tui"); code != http.StatusOK {
					fail(fmt.Sprintf("%s: %d %s", p.name, code, body))
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	refreshes := 0
	for _, p := range ps {
		refreshes += p.srv.Counts().Refresh
	}
	report(fmt.Sprintf("through the proxy (%d refreshes at the token endpoints)", refreshes), clients, ttl, rotations, requests.Load(), failures.Load(), sample)
	return nil
}

func report(mode string, clients int, ttl time.Duration, rotations int, requests, failures int64, sample string) {
	fmt.Printf("%s: %d clients, %d rotations of %s tokens: %d requests, %d failed\n", mode, clients, rotations, ttl, requests, failures)
	if sample != "" {
		fmt.Printf("  first failure: %s\n", strings.TrimSpace(sample))
	}
}

func call(ctx context.Context, u, token string) (int, string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	return resp.StatusCode, string(body)
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func refresh(ctx context.Context, tokenURL, rt string) (tokenResponse, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return tokenResponse{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return tokenResponse{}, fmt.Errorf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var tok tokenResponse
	if err := json.Unmarshal(body, &tok); err != nil {
		return tokenResponse{}, err
	}
	return tok, nil
}
