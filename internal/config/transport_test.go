package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleartextToAnotherMachineIsRefused(t *testing.T) {
	for _, key := range []string{"issuer", "authorize_url", "token_url", "device_url", "revocation_url", "api_base", "usage_url"} {
		for _, host := range []string{"sso.example.com", "10.0.0.7", "[2001:db8::1]", "127.0.0.1.nip.io"} {
			scheme := "http"
			if host == "sso.example.com" {
				scheme = "HTTP" // a scheme in capitals is the same scheme
			}
			t.Run(key+"/"+host, func(t *testing.T) {
				doc := "# corp\n[providers.corp]\ntype = \"oidc\"\nclient_id = \"c\"\n" + key + " = \"" + scheme + "://" + host + "/x\"\n"
				err := Parse("/etc/ccproxy.toml", []byte(doc), new(Default()))
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("Parse = %v, want a *config.Error", err)
				}
				if ce.File != "/etc/ccproxy.toml" || ce.Line != 5 || ce.Key != "providers.corp."+key {
					t.Errorf("error at %s:%d %s, want /etc/ccproxy.toml:5 providers.corp.%s", ce.File, ce.Line, ce.Key, key)
				}
				for _, want := range []string{"https://", "allow_insecure_http = true", "in clear"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%q does not mention %q", err, want)
					}
				}
			})
		}
	}
	t.Run("allowed per provider, with a warning", func(t *testing.T) {
		cfg := Default()
		doc := "[providers.corp]\ntype = \"oidc\"\nclient_id = \"c\"\nissuer = \"http://sso.example.com\"\nallow_insecure_http = true\n"
		if err := Parse("c.toml", []byte(doc), &cfg); err != nil {
			t.Fatal(err)
		}
		if w := cfg.Warnings(); len(w) != 1 || !strings.Contains(w[0], "providers.corp") || !strings.Contains(w[0], "in clear") {
			t.Errorf("warnings = %q", w)
		}
	})
	t.Run("loopback and https pass", func(t *testing.T) {
		for _, u := range []string{"http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:9/x", "http://127.9.9.9/", "https://sso.example.com"} {
			cfg := Default()
			doc := "[providers.corp]\ntype = \"oidc\"\nclient_id = \"c\"\nissuer = \"" + u + "\"\n"
			if err := Parse("c.toml", []byte(doc), &cfg); err != nil {
				t.Errorf("%s: %v", u, err)
			}
			if w := cfg.Warnings(); len(w) != 0 {
				t.Errorf("%s: warnings %q", u, w)
			}
		}
	})
}

func TestProviderNameRule(t *testing.T) {
	doc := "[proxy]\nlisten = \"127.0.0.1:8787\"\n\n[providers.Corp]\ntype = \"oidc\"\nclient_id = \"c\"\nissuer = \"https://sso.example.com\"\n"
	err := Parse("/home/u/config.toml", []byte(doc), new(Default()))
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 4 || ce.Key != "providers.Corp" {
		t.Fatalf("Parse = %v, want an error at line 4 on providers.Corp", err)
	}
	if !strings.Contains(err.Error(), "/home/u/config.toml:4") || !strings.Contains(err.Error(), "lower-case letters") {
		t.Errorf("%q should give the place and the rule", err)
	}
}

func TestAConfigHoldingASecretMustBePrivate(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		mode      os.FileMode
		warn      string
	}{
		{"api_key, world-readable", "[proxy]\napi_key = \"k-123456\"\n", 0o644, "proxy.api_key"},
		{"client_secret, group-readable", "[providers.corp]\ntype = \"oidc\"\nclient_id = \"c\"\nclient_secret = \"s\"\nissuer = \"https://x.example\"\n", 0o640, "providers.corp.client_secret"},
		{"api_key, private", "[proxy]\napi_key = \"k-123456\"\n", 0o600, ""},
		{"no secret, world-readable", "[proxy]\nautostart = true\n", 0o644, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if err := os.WriteFile(path, []byte(tc.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			w := strings.Join(cfg.Warnings(), "\n")
			if tc.warn == "" {
				if w != "" {
					t.Errorf("unexpected warning %q", w)
				}
				return
			}
			for _, want := range []string{path, tc.warn, "chmod 600"} {
				if !strings.Contains(w, want) {
					t.Errorf("warning %q does not mention %q", w, want)
				}
			}
			if strings.Contains(w, "k-123456") {
				t.Errorf("the warning quotes the secret: %q", w)
			}
		})
	}
}
