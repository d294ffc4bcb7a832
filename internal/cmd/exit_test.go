package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		argv   []string
		code   int
		stderr string // a substring of the one-line message
	}{
		{"version", []string{"version"}, 0, ""},
		{"status of nobody logged in", []string{"auth", "status"}, 1, "not logged in"},
		{"unknown command", []string{"bogus"}, 2, `unknown command "bogus"`},
		{"unknown flag", []string{"auth", "status", "--bogus"}, 2, "unknown flag: --bogus"},
		{"missing provider", []string{"auth", "login"}, 2, "accepts 1 arg(s), received 0"},
		{"extra argument", []string{"auth", "token", "corp", "more"}, 2, "accepts 1 arg(s)"},
		{"conflicting flows", []string{"auth", "login", "corp", "--device", "--paste"}, 2, "--device and --paste"},
		{"bad shell", []string{"env", "--shell", "tcsh"}, 2, "--shell must be"},
		{"bad listen flag", []string{"serve", "--listen", "nowhere"}, 2, "--listen"},
		{"bad log format", []string{"serve", "--log-format", "xml"}, 2, "--log-format"},
		{"bad log level", []string{"serve", "--log-level", "loud"}, 2, "--log-level: log level \"loud\": want debug, info, warn or error"},
		{"status of a provider not logged in", []string{"auth", "status", "corp"}, 1, "corp: "},
		{"token when not logged in", []string{"auth", "token", "corp"}, 1, "ccproxy-tui auth login corp"},
		{"refresh when not logged in", []string{"auth", "refresh", "corp"}, 1, "ccproxy-tui auth login corp"},
		{"unknown provider", []string{"auth", "login", "nope"}, 2, "claude"},
		{"unknown subcommand suggests", []string{"auth", "statsu"}, 2, "Did you mean this?\n\tstatus"},
		{"version flag", []string{"--version"}, 0, ""},
		{"unknown completion shell", []string{"completion", "nushell"}, 2, `unknown command "nushell"`},
		{"missing config file", []string{"--config", "/nonexistent/ccproxy.toml", "providers"}, 2, "/nonexistent/ccproxy.toml does not exist"},
		{"logout of nobody", []string{"auth", "logout", "claude", "--yes"}, 1, "not logged in to claude"},
		{"unsupported flow", []string{"auth", "login", "copilot", "--paste"}, 1, "copilot does not offer paste login (it offers: device)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			code := h.run(testContext(t), tt.argv...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, h.errOut)
			}
			if !strings.Contains(h.errOut.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", h.errOut, tt.stderr)
			}
			if tt.code == 1 && tt.name != "status of a provider not logged in" && tt.name != "status of nobody logged in" {
				if lines := strings.Count(strings.TrimSpace(h.errOut.String()), "\n"); lines != 0 {
					t.Errorf("error is %d lines, want one:\n%s", lines+1, h.errOut)
				}
			}
		})
	}
}

func TestBadConfigNamesFileLineAndKey(t *testing.T) {
	h := newHarness(t, nil)
	if err := os.WriteFile(h.cfgPath, []byte("[proxy]\nlisten = \"127.0.0.1:8787\"\nlisen = \"oops\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{{"auth", "status"}, {"env"}, {"serve"}} {
		t.Run(argv[0], func(t *testing.T) {
			h.errOut.buf.Reset()
			if code := h.run(testContext(t), argv...); code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			want := h.cfgPath + ":3: proxy.lisen: unknown key\n"
			if h.errOut.String() != want {
				t.Errorf("stderr = %q, want %q", h.errOut, want)
			}
		})
	}
	t.Run("--config wins over the environment", func(t *testing.T) {
		h.errOut.buf.Reset()
		good := h.dir + "/good.toml"
		os.WriteFile(good, []byte("[proxy]\nlisten = \"127.0.0.1:7000\"\n"), 0o600)
		if code := h.run(testContext(t), "--config", good, "env", "claude"); code != 0 {
			t.Fatalf("exit %d: %s", code, h.errOut)
		}
		if !strings.Contains(h.out.String(), "http://127.0.0.1:7000/claude") {
			t.Errorf("stdout:\n%s", h.out)
		}
	})
}

func TestStatusFailsOnACredentialBeyondRefresh(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	h := newHarness(t, clockwork.NewFakeClockAt(now))
	st, err := store.NewFile(h.credsDir)
	if err != nil {
		t.Fatal(err)
	}
	dead := auth.Credentials{Version: 1, Provider: "corp", AccessToken: "dead-access-token-0123456789abcdef",
		ExpiresAt: now.Add(-time.Hour), Email: "ada@example.com"}
	h.secret(dead.AccessToken)
	blob, _ := dead.Marshal()
	if err := st.Save(context.Background(), "corp", blob); err != nil {
		t.Fatal(err)
	}
	if code := h.run(testContext(t), "auth", "status"); code != 1 {
		t.Fatalf("exit %d, want 1; stdout:\n%s", code, h.out)
	}
	if !regexp.MustCompile(`corp\s+\* ada@example.com\s+needs login\s+ada@example.com`).MatchString(h.out.String()) {
		t.Errorf("table:\n%s", h.out)
	}
	if !strings.Contains(h.errOut.String(), "ccproxy-tui auth login corp") {
		t.Errorf("no next step:\n%s", h.errOut)
	}
	h.assertNoSecrets()
}

func TestEnvPointsAtRoutesTheProxyServes(t *testing.T) {
	h := newHarness(t, nil)
	h.writeConfig("\n[proxy]\nlisten = \"127.0.0.1:9911\"\napi_key = \"sesame\"\n")
	tests := []struct {
		argv []string
		want []string
	}{
		{[]string{"env"}, []string{
			"export ANTHROPIC_BASE_URL='http://127.0.0.1:9911/claude'",
			"export ANTHROPIC_AUTH_TOKEN='sesame'",
			"export OPENAI_BASE_URL='http://127.0.0.1:9911/codex'",
			"export OPENAI_API_KEY='sesame'",
		}},
		{[]string{"env", "codex", "--shell", "fish"}, []string{
			"set -gx OPENAI_BASE_URL 'http://127.0.0.1:9911/codex'",
			`#   base_url = "http://127.0.0.1:9911/codex"`,
			`#   wire_api = "responses"`,
			`#   env_key = "OPENAI_API_KEY"`,
			`#   model_provider = "ccproxy"`,
			`#   chatgpt_base_url = "http://127.0.0.1:9911/codex/backend-api"`,
			`codex -c model_provider=ccproxy -c chatgpt_base_url='"http://127.0.0.1:9911/codex/backend-api"' -c 'model_providers.ccproxy={name="ccproxy-tui",base_url="http://127.0.0.1:9911/codex",env_key="OPENAI_API_KEY",wire_api="responses"}'`,
		}},
		{[]string{"env", "corp", "--shell", "powershell"}, []string{"$env:OPENAI_BASE_URL = 'http://127.0.0.1:9911/corp'"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.argv, " "), func(t *testing.T) {
			h.out.buf.Reset()
			if code := h.run(testContext(t), tt.argv...); code != 0 {
				t.Fatalf("exit %d: %s", code, h.errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(h.out.String(), w) {
					t.Errorf("missing %q in:\n%s", w, h.out)
				}
			}
		})
	}
	t.Run("placeholder key and environment listen", func(t *testing.T) {
		h.writeConfig("")
		h.env["CCPROXY_TUI_LISTEN"] = "127.0.0.1:7777"
		defer delete(h.env, "CCPROXY_TUI_LISTEN")
		h.out.buf.Reset()
		if code := h.run(testContext(t), "env", "claude"); code != 0 {
			t.Fatalf("exit %d", code)
		}
		want := "# claude: Claude Code and the Anthropic SDK\nexport ANTHROPIC_BASE_URL='http://127.0.0.1:7777/claude'\nexport ANTHROPIC_AUTH_TOKEN='ccproxy-tui'\n"
		if h.out.String() != want {
			t.Errorf("stdout = %q, want %q", h.out, want)
		}
	})
}

func TestProvidersJSON(t *testing.T) {
	h := newHarness(t, nil)
	if code := h.run(testContext(t), "providers", "--json"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{`"name": "corp"`, `"route": "http://127.0.0.1:8787/corp"`, `"flows": [`, `"browser"`, `"device"`} {
		if !strings.Contains(h.out.String(), w) {
			t.Errorf("missing %s in:\n%s", w, h.out)
		}
	}
}

func TestSSHHint(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		flows []auth.Flow
		want  string
		not   string
	}{
		{"not over ssh", map[string]string{}, nil, "", ""},
		{"claude has no device flow", map[string]string{"SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22"}, []auth.Flow{auth.FlowBrowser, auth.FlowPaste}, "without a callback: --paste.", "--device"},
		{"only SSH_TTY", map[string]string{"SSH_TTY": "/dev/pts/1", "USER": "bob"}, nil, "ssh -L 1455:127.0.0.1:1455 bob@<this-host>", "without a callback"},
		{"default port", map[string]string{"SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22", "USER": "bob"}, nil, "ssh -L 1455:127.0.0.1:1455 bob@10.0.0.2\n", ""},
		{"ipv6 and no user", map[string]string{"SSH_CONNECTION": "::1 5000 fe80::1 22"}, nil, "ssh -L 1455:127.0.0.1:1455 [fe80::1]\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sshHint(func(k string) string { return tt.env[k] }, 1455, tt.flows)
			if tt.want == "" {
				if got != "" {
					t.Errorf("hint %q", got)
				}
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("hint %q does not contain %q", got, tt.want)
			}
			if tt.not != "" && strings.Contains(got, tt.not) {
				t.Errorf("hint %q offers %q", got, tt.not)
			}
		})
	}
}

func TestCompletionOffersProviderNames(t *testing.T) {
	h := newHarness(t, nil)
	if code := h.run(testContext(t), "__complete", "auth", "login", "c"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.errOut)
	}
	for _, w := range []string{"claude\t", "codex\t", "copilot\t", "corp\t"} {
		if !strings.Contains(h.out.String(), w) {
			t.Errorf("missing %q in:\n%s", w, h.out)
		}
	}
	h.out.buf.Reset()
	if code := h.run(testContext(t), "completion", "bash"); code != 0 || !strings.Contains(h.out.String(), "ccproxy-tui") {
		t.Errorf("completion bash: exit %d", code)
	}
}

func TestLogoutAsksOnATerminal(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		answer string
		tty    bool
		argv   []string
		code   int
		kept   bool
	}{
		{"declined", "n\n", true, []string{"auth", "logout", "corp"}, 1, true},
		{"confirmed", "y\n", true, []string{"auth", "logout", "corp"}, 0, false},
		{"--yes skips the question", "", true, []string{"auth", "logout", "corp", "--yes"}, 0, false},
		{"no terminal, no question", "", false, []string{"auth", "logout", "corp"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, clockwork.NewFakeClockAt(now))
			st, _ := store.NewFile(h.credsDir)
			c := auth.Credentials{Version: 1, Provider: "corp", AccessToken: "corp-access-token-for-logout-0123456789", ExpiresAt: now.Add(time.Hour)}
			h.secret(c.AccessToken)
			blob, _ := c.Marshal()
			if err := st.Save(context.Background(), "corp", blob); err != nil {
				t.Fatal(err)
			}
			f := h.factory()
			f.IO.In = strings.NewReader(tt.answer)
			f.IO.SetStdinTTY(tt.tty)
			f.IO.SetStdoutTTY(tt.tty)
			root := NewCmdRoot(f, nil)
			root.SetContext(testContext(t))
			if code := Execute(root, tt.argv, h.errOut, f.Logger); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, h.errOut)
			}
			asked := strings.Contains(h.errOut.String(), "Delete the stored credentials of corp account default? [y/N]")
			if asked != (tt.answer != "") {
				t.Errorf("asked = %v; stderr:\n%s", asked, h.errOut)
			}
			_, err := loadActive(st, "corp")
			if kept := err == nil; kept != tt.kept {
				t.Errorf("credentials kept = %v, want %v", kept, tt.kept)
			}
			h.assertNoSecrets()
		})
	}
}

// TestConfigOnlyCommandsNeedNoCredentialsFolder runs providers and env where
// the credentials folder cannot be created (its parent is a file, which
// stops root too), as in a read-only config folder: they read only the
// config, so they must work.
func TestConfigOnlyCommandsNeedNoCredentialsFolder(t *testing.T) {
	for _, argv := range [][]string{{"providers"}, {"env"}} {
		t.Run(argv[0], func(t *testing.T) {
			h := newHarness(t, nil)
			blocker := filepath.Join(h.dir, "not-a-folder")
			if err := os.WriteFile(blocker, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			h.credsDir = filepath.Join(blocker, "credentials")
			h.writeConfig("")
			if code := h.run(testContext(t), argv...); code != 0 {
				t.Fatalf("exit %d: %s", code, h.errOut)
			}
		})
	}
}

// TestEnvSaysWhatItLeftOut checks that env names each provider it did not
// print and how to get its exports.
func TestEnvSaysWhatItLeftOut(t *testing.T) {
	h := newHarness(t, nil)
	if code := h.run(testContext(t), "env"); code != 0 {
		t.Fatalf("exit %d: %s", code, h.errOut)
	}
	if !strings.Contains(h.out.String(), "# left out copilot (speaks the same API as codex") || !strings.Contains(h.out.String(), "run: ccproxy-tui env copilot") {
		t.Errorf("env output:\n%s", h.out)
	}
}

// TestMessageOfAuthErrors checks a failed command's line: each layer once,
// and a next step for a command that has ended (no "will retry").
func TestMessageOfAuthErrors(t *testing.T) {
	inner := &auth.Error{Provider: "codex", Op: "device login", Kind: auth.ErrTransient, Err: errors.New("dial tcp: connection refused")}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"transient, nested", &auth.Error{Provider: "codex", Op: "login", Kind: auth.ErrTransient, Err: inner},
			"login codex: dial tcp: connection refused (check the network, then run the command again)"},
		{"refused, with a code", &auth.Error{Provider: "claude", Op: "refresh", Kind: auth.ErrLoginRequired, Code: "invalid_grant", Err: errors.New("token endpoint answered 400")},
			"refresh claude: invalid_grant: token endpoint answered 400 (run: ccproxy-tui auth login claude)"},
		{"an explicit hint wins", &auth.Error{Provider: "copilot", Op: "device login", Kind: auth.ErrCancelled, Err: errors.New("the code expired"), Hint: "start again and enter the new code sooner"},
			"device login copilot: the code expired (start again and enter the new code sooner)"},
		{"not an auth error", errors.New("import claude: no file"), "import claude: no file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := message(tt.err); got != tt.want {
				t.Errorf("message =\n %q\nwant\n %q", got, tt.want)
			}
			if strings.Contains(message(tt.err), "will retry") {
				t.Error("a command that exits says it will retry")
			}
		})
	}
}

// TestCallbackFreeFlags: a browser login that timed out suggests only the
// flags of flows the provider really has (Claude has no device login,
// Copilot no paste page).
func TestCallbackFreeFlags(t *testing.T) {
	tests := []struct {
		name  string
		flows []auth.Flow
		want  string
	}{
		{"claude", []auth.Flow{auth.FlowBrowser, auth.FlowPaste}, "--paste"},
		{"copilot", []auth.Flow{auth.FlowDevice}, "--device"},
		{"oidc with device", []auth.Flow{auth.FlowBrowser, auth.FlowPaste, auth.FlowDevice}, "--paste or --device"},
		{"browser only", []auth.Flow{auth.FlowBrowser}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := callbackFreeFlags(tc.flows); got != tc.want {
				t.Errorf("callbackFreeFlags(%v) = %q, want %q", tc.flows, got, tc.want)
			}
		})
	}
}
