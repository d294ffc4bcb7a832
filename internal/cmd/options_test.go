package cmd

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/internal/app"
	"github.com/ccproxy-tui/ccproxy-tui/internal/config"
	"github.com/ccproxy-tui/ccproxy-tui/internal/iostreams"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// A command runs from its Options alone: what it uses is all it gets, so
// a test hands it exactly that and no Factory.
func TestProvidersRunsFromItsOptions(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	opts := &ProvidersOptions{IO: ios, JSON: true, App: func() (*app.App, error) {
		return app.New(app.Options{Config: config.Default(), Store: store.NewMemory()})
	}}
	if err := providersRun(opts); err != nil {
		t.Fatal(err)
	}
	var infos []ProviderInfo
	if err := json.Unmarshal(out.Bytes(), &infos); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := map[string]string{}
	for _, i := range infos {
		got[i.Name] = i.APIFormat + "/" + i.ErrorFormat
	}
	want := map[string]string{"claude": "anthropic/anthropic", "codex": "openai/openai", "copilot": "openai/openai"}
	if len(got) != len(want) {
		t.Fatalf("providers %v", got)
	}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("%s: api/error format %q, want %q", n, got[n], w)
		}
	}

	broken := errors.New("the config is broken")
	opts.App = func() (*app.App, error) { return nil, broken }
	if err := providersRun(opts); !errors.Is(err, broken) {
		t.Errorf("providersRun = %v, want the App's error", err)
	}
}

// env's notes come from the provider: only codex prints the Codex CLI's
// block, as comments that keep the output eval-able.
func TestEnvRunsFromItsOptions(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	a := func() (*app.App, error) {
		return app.New(app.Options{Config: config.Default(), Store: store.NewMemory()})
	}
	opts := &EnvOptions{IO: ios, App: a, AppWithoutCredentials: a, Provider: "codex", Shell: "bash"}
	if err := envRun(opts); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "export OPENAI_") {
			t.Errorf("line %q is neither a comment nor an OpenAI export", l)
		}
	}
	if !strings.Contains(out.String(), `#   chatgpt_base_url = "http://127.0.0.1:8787/codex/backend-api"`) {
		t.Errorf("no Codex CLI block:\n%s", out)
	}
}

// No command's Options holds the Factory: each copies what it uses.
func TestNoOptionsHoldTheFactory(t *testing.T) {
	factory := reflect.TypeOf(&Factory{})
	for _, o := range []any{RootOptions{}, LoginOptions{}, LogoutOptions{}, StatusOptions{}, RefreshOptions{},
		TokenOptions{}, ImportOptions{}, SwitchOptions{}, ServeOptions{}, EnvOptions{}, ProvidersOptions{},
		UsageOptions{}, VersionOptions{}, QuotaOptions{}, StatuslineOptions{}, DashboardOptions{}} {
		typ := reflect.TypeOf(o)
		for i := range typ.NumField() {
			if f := typ.Field(i); f.Type == factory || f.Type == factory.Elem() {
				t.Errorf("%s.%s is the whole Factory", typ.Name(), f.Name)
			}
		}
	}
}
