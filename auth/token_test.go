package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/oauth2"
)

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestParseTokenResponse(t *testing.T) {
	jsonCT := header("Content-Type", "application/json")
	tests := []struct {
		name    string
		status  int
		h       http.Header
		body    string
		access  string
		refresh string
		expires time.Duration
		extra   map[string]any
		fail    *endpointError
	}{
		{name: "full JSON", status: 200, h: jsonCT,
			body:   `{"access_token":"at","refresh_token":"rt","token_type":"Bearer","expires_in":3600,"id_token":"idt","scope":"a b","account":{"uuid":"u1"}}`,
			access: "at", refresh: "rt", expires: time.Hour,
			extra: map[string]any{"id_token": "idt", "scope": "a b", "expires_in": 3600.0}},
		{name: "expires_in as string", status: 200, h: jsonCT,
			body: `{"access_token":"at","expires_in":"120"}`, access: "at", expires: 2 * time.Minute},
		{name: "expires_in absent", status: 200, h: jsonCT, body: `{"access_token":"at"}`, access: "at"},
		{name: "no content type", status: 200, h: header(), body: ` {"access_token":"at"} `, access: "at"},
		{name: "form encoded", status: 200, h: header("Content-Type", "application/x-www-form-urlencoded"),
			body: "access_token=at&refresh_token=rt&expires_in=60&scope=read%3Auser", access: "at", refresh: "rt",
			expires: time.Minute, extra: map[string]any{"scope": "read:user"}},
		{name: "RFC 6749 error", status: 400, h: jsonCT, body: `{"error":"invalid_grant","error_description":"gone"}`,
			fail: &endpointError{Status: 400, Code: "invalid_grant", Description: "gone"}},
		{name: "error on a 200", status: 200, h: jsonCT, body: `{"error":"authorization_pending"}`,
			fail: &endpointError{Status: 200, Code: "authorization_pending"}},
		{name: "codex error object", status: 401, h: jsonCT,
			body: `{"error":{"message":"used","type":"invalid_request_error","code":"refresh_token_reused"}}`,
			fail: &endpointError{Status: 401, Code: "refresh_token_reused", Description: "used"}},
		{name: "top-level code", status: 403, h: jsonCT, body: `{"code":"token_revoked","message":"revoked"}`,
			fail: &endpointError{Status: 403, Code: "token_revoked", Description: "revoked"}},
		{name: "HTML by type", status: 200, h: header("Content-Type", "text/html"), body: "<p>hi",
			fail: &endpointError{Status: 200, Body: bodyHTML}},
		{name: "HTML sniffed", status: 403, h: jsonCT, body: "  <!DOCTYPE html><html>",
			fail: &endpointError{Status: 403, Body: bodyHTML}},
		{name: "garbage", status: 200, h: jsonCT, body: `{"access_token": "tr`,
			fail: &endpointError{Status: 200, Body: bodyGarbage}},
		{name: "JSON array", status: 200, h: jsonCT, body: `[1,2]`, fail: &endpointError{Status: 200, Body: bodyGarbage}},
		{name: "two objects", status: 200, h: jsonCT, body: `{"access_token":"a"}{}`,
			fail: &endpointError{Status: 200, Body: bodyGarbage}},
		{name: "null", status: 200, h: jsonCT, body: `null`, fail: &endpointError{Status: 200, Body: bodyGarbage}},
		{name: "no access token", status: 200, h: jsonCT, body: `{"token_type":"Bearer"}`,
			fail: &endpointError{Status: 200, Body: bodyNoToken}},
		{name: "access token not a string", status: 200, h: jsonCT, body: `{"access_token":5}`,
			fail: &endpointError{Status: 200, Body: bodyNoToken}},
		{name: "empty 500", status: 500, h: header(), body: "", fail: &endpointError{Status: 500}},
		{name: "429 retry seconds", status: 429, h: header("Retry-After", "30"), body: "",
			fail: &endpointError{Status: 429, RetryAfter: 30 * time.Second}},
		{name: "429 retry date", status: 429, h: header("Retry-After", t0.Add(time.Minute).Format(http.TimeFormat)), body: "",
			fail: &endpointError{Status: 429, RetryAfter: time.Minute}},
		{name: "429 retry ms", status: 429, h: header("Retry-After-Ms", "1500"), body: "",
			fail: &endpointError{Status: 429, RetryAfter: 1500 * time.Millisecond}},
		{name: "429 retry date in the past", status: 429, h: header("Retry-After", t0.Add(-time.Minute).Format(http.TimeFormat)),
			body: "", fail: &endpointError{Status: 429}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := parseTokenResponse(t0, tc.status, tc.h, []byte(tc.body))
			if tc.fail != nil {
				var ee *endpointError
				if !errors.As(err, &ee) || *ee != *tc.fail {
					t.Fatalf("got %v (%#v), want %#v", tok, err, tc.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != tc.access || tok.RefreshToken != tc.refresh {
				t.Errorf("tokens %q %q", tok.AccessToken, tok.RefreshToken)
			}
			if got := expiresAt(tok, t0); tc.expires == 0 && !got.IsZero() || tc.expires != 0 && !got.Equal(t0.Add(tc.expires)) {
				t.Errorf("expiry %v, want now+%v", got, tc.expires)
			}
			for k, v := range tc.extra {
				if tok.Extra(k) != v {
					t.Errorf("Extra(%q) = %#v, want %#v", k, tok.Extra(k), v)
				}
			}
		})
	}
}

func TestClassifyKinds(t *testing.T) {
	tests := []struct {
		ee   endpointError
		kind error
	}{
		{endpointError{Status: 400, Code: "invalid_grant"}, ErrLoginRequired},
		{endpointError{Status: 401, Code: "refresh_token_reused"}, ErrLoginRequired},
		{endpointError{Status: 400, Code: "something_new"}, ErrLoginRequired},
		{endpointError{Status: 401, Code: "invalid_client"}, ErrMisconfigured},
		{endpointError{Status: 400, Code: "unsupported_grant_type"}, ErrMisconfigured},
		{endpointError{Status: 503, Code: "temporarily_unavailable"}, ErrTransient},
		{endpointError{Status: 429}, ErrTransient},
		{endpointError{Status: 500, Body: bodyHTML}, ErrTransient},
		{endpointError{Status: 200, Body: bodyHTML}, ErrMisconfigured},
		{endpointError{Status: 403, Body: bodyHTML}, ErrMisconfigured},
		{endpointError{Status: 200, Body: bodyGarbage}, ErrMisconfigured},
		{endpointError{Status: 404}, ErrMisconfigured},
		{endpointError{Status: 400}, ErrMisconfigured},
	}
	cfg := &Config{Provider: "demo"}
	for _, tc := range tests {
		t.Run(tc.ee.Error(), func(t *testing.T) {
			ee := tc.ee
			err := cfg.classify(context.Background(), "refresh", &ee)
			if !errors.Is(err, tc.kind) {
				t.Errorf("kind %v, want %v", err.Kind, tc.kind)
			}
			if !strings.HasPrefix(err.Error(), "refresh demo") || !strings.Contains(err.Error(), "(") {
				t.Errorf("message %q lacks the operation, provider or next step", err)
			}
		})
	}
}

// TestClassifyRetrieveError: a hook that calls x/oauth2 itself gets its
// RetrieveError classified from the response it carries, headers included.
func TestClassifyRetrieveError(t *testing.T) {
	resp := func(status int, h http.Header) *http.Response { return &http.Response{StatusCode: status, Header: h} }
	tests := []struct {
		name  string
		err   error
		kind  error
		code  string
		retry time.Duration
	}{
		{"429 with Retry-After", &oauth2.RetrieveError{Response: resp(429, http.Header{"Retry-After": {"9"}}),
			Body: []byte(`{"error":"rate_limit_exceeded"}`)}, ErrTransient, "rate_limit_exceeded", 9 * time.Second},
		{"503 page", &oauth2.RetrieveError{Response: resp(503, http.Header{"Content-Type": {"text/html"}}),
			Body: []byte(`<html>down</html>`)}, ErrTransient, "", 0},
		{"invalid_grant", fmt.Errorf("hook: %w", &oauth2.RetrieveError{Response: resp(400, nil),
			Body: []byte(`{"error":"invalid_grant"}`), ErrorCode: "invalid_grant"}), ErrLoginRequired, "invalid_grant", 0},
		{"no response", &oauth2.RetrieveError{ErrorCode: "invalid_client"}, ErrMisconfigured, "invalid_client", 0},
	}
	cfg := &Config{Provider: "demo", Clock: clockwork.NewFakeClockAt(t0)}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := cfg.classify(context.Background(), "refresh", tc.err)
			if !errors.Is(e, tc.kind) || e.Code != tc.code || e.RetryAfter != tc.retry {
				t.Errorf("got kind %v code %q retry %v, want %v %q %v", e.Kind, e.Code, e.RetryAfter, tc.kind, tc.code, tc.retry)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	got := scrub("token sk-secret-1234 is bad\n"+strings.Repeat("x", 300), "sk-secret-1234", "")
	if strings.Contains(got, "sk-secret-1234") || strings.Contains(got, "\n") || len(got) > maxServerText+4 {
		t.Errorf("scrub left %q", got)
	}
}

func TestSecretsOf(t *testing.T) {
	type body struct {
		Code  string `json:"code"`
		Other string `json:"other"`
	}
	for name, b := range map[string]any{
		"form":   url.Values{"code": {"c-secret"}, "other": {"x"}},
		"map":    map[string]string{"code": "c-secret"},
		"struct": body{Code: "c-secret", Other: "x"},
	} {
		found := false
		for _, s := range secretsOf(b) {
			found = found || s == "c-secret"
		}
		if !found {
			t.Errorf("%s: secretsOf missed the code", name)
		}
	}
}

// FuzzParseTokenResponse throws arbitrary bodies, content types and
// statuses at the parser: no panics, and a success always has a token.
func FuzzParseTokenResponse(f *testing.F) {
	f.Add(200, "application/json", `{"access_token":"a","expires_in":"3600","refresh_token":"r"}`)
	f.Add(400, "application/json", `{"error":{"code":"refresh_token_reused"}}`)
	f.Add(200, "application/x-www-form-urlencoded", "access_token=a&expires_in=9e99")
	f.Add(200, "text/plain", "access_token=a")
	f.Add(200, "text/html", "<html>")
	f.Add(429, "", "")
	f.Add(200, "application/json", `{"access_token":"a","expires_in":1e400}`)
	f.Add(200, "application/json; charset=utf-8", `{"access_token":"a","expires_in":-5}`)
	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		h := http.Header{"Content-Type": {contentType}, "Retry-After": {body}}
		tok, err := parseTokenResponse(t0, status, h, []byte(body))
		if err == nil {
			if tok == nil || tok.AccessToken == "" {
				t.Fatalf("success without an access token for %q", body)
			}
			if status < 200 || status > 299 {
				t.Fatalf("status %d parsed as success", status)
			}
			if e := expiresAt(tok, t0); !e.IsZero() && e.Before(t0) {
				t.Fatalf("expiry %v before now", e)
			}
			return
		}
		var ee *endpointError
		if !errors.As(err, &ee) {
			t.Fatalf("error %T is not an endpointError", err)
		}
		if ee.RetryAfter < 0 {
			t.Fatalf("negative Retry-After %v", ee.RetryAfter)
		}
		_ = (&Config{Provider: "p"}).classify(context.Background(), "x", err).Error()
	})
}

func TestPostTokenBodies(t *testing.T) {
	type jsonBody struct {
		GrantType    string `json:"grant_type"`
		RefreshToken string `json:"refresh_token"`
		ClientID     string `json:"client_id"`
	}
	tests := []struct {
		name        string
		body        func(rt string) any
		contentType string
	}{
		{"struct as JSON", func(rt string) any { return jsonBody{"refresh_token", rt, testClient} }, "application/json"},
		{"map as JSON", func(rt string) any {
			return map[string]any{"grant_type": "refresh_token", "refresh_token": rt, "client_id": testClient}
		}, "application/json"},
		{"url.Values as form", func(rt string) any {
			return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {testClient}}
		}, "application/x-www-form-urlencoded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			var seen http.Header
			base := f.cfg.HTTPClient.Transport
			f.cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				seen = r.Header.Clone()
				return base.RoundTrip(r)
			})}
			rt := f.srv.IssueRefreshToken(testClient, "")
			tok, err := f.cfg.PostToken(context.Background(), "refresh", tc.body(rt))
			if err != nil {
				t.Fatal(err)
			}
			if seen.Get("Content-Type") != tc.contentType || seen.Get("Accept") != "application/json" {
				t.Errorf("sent Content-Type %q Accept %q", seen.Get("Content-Type"), seen.Get("Accept"))
			}
			if tok.RefreshToken != f.srv.LastRefreshToken() || !tok.Expiry.Equal(t0.Add(time.Hour)) || tok.Extra("token_type") != "Bearer" {
				t.Errorf("token %+v", tok)
			}
			// The same token again: rotated away, a typed login-required error.
			_, err = f.cfg.PostToken(context.Background(), "refresh", tc.body(rt))
			if ae := wantKind(t, err, ErrLoginRequired); ae.Op != "refresh" || ae.Code != "invalid_grant" {
				t.Errorf("error %+v", ae)
			}
			assertClean(t, err, rt)
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestStartMisconfigured(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
	}{
		{"redirect not loopback", func(c *Config) { c.RedirectURL = "http://example.com:8080/cb" }},
		{"redirect https", func(c *Config) { c.RedirectURL = "https://127.0.0.1:8080/cb" }},
		{"redirect bad port", func(c *Config) { c.RedirectURL = "http://127.0.0.1:99999/cb" }},
		{"no authorize URL", func(c *Config) { c.AuthURL = "" }},
		{"token URL not http", func(c *Config) { c.TokenURL = "file:///etc/passwd" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.change(f.cfg)
			l, err := f.cfg.StartBrowser(context.Background())
			if err == nil {
				l.Close()
				t.Fatal("StartBrowser accepted a bad config")
			}
			wantKind(t, err, ErrMisconfigured)
			if tc.name != "token URL not http" && !strings.Contains(tc.name, "redirect") {
				if _, err := f.cfg.StartPaste(context.Background()); !errors.Is(err, ErrMisconfigured) {
					t.Errorf("StartPaste err = %v, want misconfigured", err)
				}
			}
		})
	}
}
