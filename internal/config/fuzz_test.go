package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/internal/provname"
	"github.com/ccproxy-tui/ccproxy-tui/providers"
)

// FuzzParse feeds arbitrary documents to the config parser: it must never
// panic, every error must be a *Error, and whatever it accepts must pass
// Validate: valid provider names, and no cleartext endpoint on another
// machine unless that provider allows it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "[proxy]\nlisten = \"127.0.0.1:8787\"\n", "[providers.Corp]\ntype = \"oidc\"\n",
		"[providers.corp]\ntype = \"oidc\"\nclient_id = \"c\"\nissuer = \"http://sso.example.com\"\n",
		"[providers.corp]\ntype = \"oidc\"\nclient_id = \"c\"\nissuer = \"http://sso.example.com\"\nallow_insecure_http = true\n",
		"[refresh]\ngrace = \"-1s\"\n", "[store]\nbackend = \"x\"\n", "a = [", "[providers.\"a/b\"]\n",
		"[ledger]\nretention = \"90d\"\n", "[providers.claude]\napi_base = \"http://[::1]:9/\"\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		cfg := Default()
		err := Parse("f.toml", []byte(doc), &cfg)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *config.Error", err, err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted, then Validate says %v", err)
		}
		for name, p := range cfg.Providers {
			if !provname.Valid(name) {
				t.Fatalf("accepted provider name %q", name)
			}
			for _, u := range []string{p.Issuer, p.AuthorizeURL, p.TokenURL, p.DeviceURL, p.RevocationURL, p.APIBase, p.UsageURL} {
				if !p.AllowInsecureHTTP && providers.CleartextRemote(u) {
					t.Fatalf("accepted cleartext %q for %s", u, name)
				}
				// A scheme is case-insensitive (RFC 3986); every check
				// downstream, CleartextRemote's included, folds it.
				if l := strings.ToLower(u); u != "" && !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
					t.Fatalf("accepted %q as a URL", u)
				}
			}
		}
	})
}
