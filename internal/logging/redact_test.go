package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// tok stands for any secret; it matches no scrubbing pattern by its shape,
// so only the key or the context around it can hide it.
const tok = "s3cr3tT0k3nVALUE42"

// jwt is an id-token-shaped secret.
const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlc2lnbmF0dXJl"

// tokens is a value whose LogValue exposes its secret inside a group, as a
// careless type might.
type tokens struct{ access string }

func (t tokens) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_token", t.access), slog.String("kind", "oauth"))
}

type creds struct {
	Provider    string
	AccessToken string
}

func TestSecretsNeverReachTheOutput(t *testing.T) {
	cases := []struct {
		name string
		log  func(l *slog.Logger)
		keep []string // non-secret text that must survive
	}{
		{"authorization attr", func(l *slog.Logger) { l.Info("req", "Authorization", "Bearer "+tok) }, []string{"Authorization"}},
		{"proxy-authorization attr", func(l *slog.Logger) { l.Info("req", "proxy-authorization", tok) }, nil},
		{"cookie attr", func(l *slog.Logger) { l.Info("req", "Cookie", "sid="+tok) }, nil},
		{"set-cookie attr", func(l *slog.Logger) { l.Info("resp", "Set-Cookie", "sid="+tok) }, nil},
		{"x-api-key attr", func(l *slog.Logger) { l.Info("req", "X-Api-Key", tok) }, nil},
		{"api_key attr", func(l *slog.Logger) { l.Info("cfg", "api_key", tok) }, nil},
		{"access_token attr", func(l *slog.Logger) { l.Info("saved", "access_token", tok, "provider", "claude") }, []string{"claude"}},
		{"upper-case key", func(l *slog.Logger) { l.Info("saved", "ACCESS_TOKEN", tok) }, nil},
		{"camel-case key", func(l *slog.Logger) { l.Info("saved", "RefreshToken", tok) }, nil},
		{"id_token attr", func(l *slog.Logger) { l.Info("saved", "id_token", tok) }, nil},
		{"token attr", func(l *slog.Logger) { l.Info("saved", "token", tok) }, nil},
		{"code attr", func(l *slog.Logger) { l.Info("callback", "code", tok) }, nil},
		{"code_verifier attr", func(l *slog.Logger) { l.Info("pkce", "code_verifier", tok) }, nil},
		{"client_secret attr", func(l *slog.Logger) { l.Info("cfg", "client_secret", tok) }, nil},
		{"password attr", func(l *slog.Logger) { l.Info("cfg", "password", tok) }, nil},
		{"non-string value under a secret key", func(l *slog.Logger) { l.Info("x", "token", []string{tok}) }, nil},
		{"group", func(l *slog.Logger) {
			l.Info("req", slog.Group("headers", slog.String("authorization", tok), slog.String("accept", "text/event-stream")))
		}, []string{"text/event-stream"}},
		{"nested groups", func(l *slog.Logger) {
			l.Info("x", slog.Group("a", slog.Group("b", slog.String("refresh_token", tok))))
		}, nil},
		{"secret-named group", func(l *slog.Logger) { l.Info("x", slog.Group("cookie", slog.String("sid", tok))) }, nil},
		{"WithGroup", func(l *slog.Logger) { l.WithGroup("creds").Info("x", "access_token", tok) }, nil},
		{"WithGroup named a secret", func(l *slog.Logger) { l.WithGroup("authorization").Info("x", "value", tok) }, nil},
		{"With attrs", func(l *slog.Logger) { l.With("token", tok).Info("x", "provider", "codex") }, []string{"codex"}},
		{"With attrs after WithGroup", func(l *slog.Logger) { l.WithGroup("g").With(slog.Group("h", "code", tok)).Info("x") }, nil},
		{"http.Header", func(l *slog.Logger) {
			h := http.Header{}
			h.Set("Authorization", "Bearer "+tok)
			h.Set("X-Api-Key", tok)
			h.Set("Cookie", "sid="+tok)
			h.Set("Content-Type", "application/json")
			l.Info("upstream request", "headers", h)
		}, []string{"application/json", "Content-Type"}},
		{"url.Values", func(l *slog.Logger) {
			l.Info("token request", "form", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}})
		}, []string{"grant_type"}},
		{"map[string]string", func(l *slog.Logger) { l.Info("x", "m", map[string]string{"Authorization": tok}) }, nil},
		{"bearer in the message", func(l *slog.Logger) { l.Info("sending Authorization: Bearer " + tok + " upstream") }, []string{"upstream"}},
		{"bearer in a string attr", func(l *slog.Logger) { l.Info("x", "note", "got bearer "+tok+" back") }, []string{"back"}},
		{"error carrying a bearer", func(l *slog.Logger) { l.Error("refresh failed", "err", fmt.Errorf("upstream echoed Bearer %s", tok)) }, []string{"upstream echoed"}},
		{"wrapped error with a form body", func(l *slog.Logger) {
			l.Error("x", "err", fmt.Errorf("exchange: %w", errors.New("body: access_token="+tok+"&expires_in=3600")))
		}, []string{"expires_in=3600"}},
		{"callback URL with the code", func(l *slog.Logger) {
			l.Info("callback", "url", "http://127.0.0.1:1455/auth/callback?code="+tok+"&state=xyz")
		}, []string{"state=xyz"}},
		{"*url.URL with secrets", func(l *slog.Logger) {
			u, _ := url.Parse("https://user:" + tok + "@example.test/cb?code=" + tok + "&state=xyz")
			l.Info("callback", "url", u)
		}, []string{"example.test"}},
		{"JSON body string", func(l *slog.Logger) {
			l.Info("token response", "body", `{"access_token":"`+tok+`","token_type":"Bearer","expires_in":3600}`)
		}, []string{"expires_in"}},
		{"JSON body bytes", func(l *slog.Logger) { l.Info("resp", "body", []byte(`{"refresh_token": "`+tok+`"}`)) }, nil},
		{"LogValuer exposing a token", func(l *slog.Logger) { l.Info("x", "creds", tokens{access: tok}) }, []string{"oauth"}},
		{"struct printed with %+v", func(l *slog.Logger) { l.Info("x", "creds", creds{Provider: "claude", AccessToken: tok}) }, []string{"claude"}},
		{"JWT in the message", func(l *slog.Logger) { l.Info("id token " + jwt + " verified") }, []string{"verified"}},
		{"JWT in a string attr", func(l *slog.Logger) { l.Info("x", "note", jwt) }, nil},
		{"anthropic-shaped token in the message", func(l *slog.Logger) { l.Info("token sk-ant-oat01-" + tok + " loaded") }, []string{"loaded"}},
	}
	for _, format := range []struct {
		name string
		json bool
	}{{"text", false}, {"json", true}} {
		for _, tc := range cases {
			t.Run(format.name+"/"+tc.name, func(t *testing.T) {
				var buf bytes.Buffer
				tc.log(New(&buf, Options{JSON: format.json}))
				out := buf.String()
				for _, secret := range []string{tok, jwt} {
					if strings.Contains(out, secret) {
						t.Fatalf("secret reached the log:\n%s", out)
					}
				}
				if !strings.Contains(out, Redacted) {
					t.Fatalf("nothing marked %s:\n%s", Redacted, out)
				}
				for _, k := range tc.keep {
					if !strings.Contains(out, k) {
						t.Errorf("non-secret %q was lost:\n%s", k, out)
					}
				}
				if format.json {
					var v map[string]any
					if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
						t.Fatalf("output is not one JSON object: %v\n%s", err, out)
					}
				}
			})
		}
	}
}

func TestOrdinaryRecordsPassUnchanged(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{JSON: true})
	l.Info("proxied request", "provider", "claude", "method", "POST", "path", "/v1/messages",
		"status_code", 200, "bytes", 1234, "retried", false, "token_preview", "sk-ant-o...abcd1234")
	var v map[string]any
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"msg": "proxied request", "provider": "claude", "method": "POST", "path": "/v1/messages",
		"status_code": 200.0, "bytes": 1234.0, "retried": false, "token_preview": "sk-ant-o...abcd1234",
	}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("%s = %v, want %v", k, v[k], w)
		}
	}
}

func TestLevelIsHonoured(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{Level: slog.LevelWarn})
	l.Info("quiet")
	l.Warn("loud")
	if out := buf.String(); strings.Contains(out, "quiet") || !strings.Contains(out, "loud") {
		t.Fatalf("level not honoured:\n%s", out)
	}
}

func TestScrubKeepsTheLabel(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"authorization header", "Authorization: Bearer " + tok, "Authorization: [REDACTED]"},
		{"lower-case bearer", "bearer " + tok, "bearer [REDACTED]"},
		{"json field", `{"access_token":"` + tok + `"}`, `{"access_token":"[REDACTED]"}`},
		{"form body", "grant_type=refresh_token&refresh_token=" + tok, "grant_type=refresh_token&refresh_token=[REDACTED]"},
		{"callback query", "/cb?code=" + tok + "&state=s", "/cb?code=[REDACTED]&state=s"},
		{"status code is not a secret", "status code=200", "status code=200"},
		{"plain text", "no secrets here", "no secrets here"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Scrub(tc.in); got != tc.want {
				t.Fatalf("Scrub = %q, want %q", got, tc.want)
			}
		})
	}
}
