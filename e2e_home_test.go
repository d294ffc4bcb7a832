package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// e2eHome is one end-to-end test's user: private home and XDG folders, a
// config file, and the environment that points the binary at them and at
// nothing of the machine's.
type e2eHome struct {
	home, cfgHome, stateHome string
	cfgFile, credsDir        string
	env                      []string
}

// newE2EHome lays out the folders under dir and writes config as the
// user's config.toml.
func newE2EHome(t *testing.T, dir, config string) e2eHome {
	t.Helper()
	h := e2eHome{
		home:      filepath.Join(dir, "home"),
		cfgHome:   filepath.Join(dir, "config"),
		stateHome: filepath.Join(dir, "state"),
	}
	h.cfgFile = filepath.Join(h.cfgHome, "ccproxy-tui", "config.toml")
	h.credsDir = filepath.Join(h.cfgHome, "ccproxy-tui", "credentials")
	for _, d := range []string{h.home, h.credsDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(h.cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	h.env = append(cleanEnv(), "HOME="+h.home, "XDG_CONFIG_HOME="+h.cfgHome, "XDG_STATE_HOME="+h.stateHome,
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
	return h
}

// corpConfig is a proxy on a free loopback port and one generic OIDC
// provider, corp, at issuer in front of the API at apiBase.
func corpConfig(issuer, apiBase string) string {
	return fmt.Sprintf("[proxy]\nlisten = \"127.0.0.1:0\"\n\n[providers.corp]\ntype = \"oidc\"\nissuer = %q\nclient_id = \"ccproxy\"\napi_base = %q\n",
		issuer, apiBase)
}
