package cmd

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// login runs `auth login corp --no-browser [--account NAME]` through the
// fake and returns what it printed on stderr.
func (h *harness) login(t *testing.T, account string) string {
	t.Helper()
	ctx := testContext(t)
	h.errOut.buf.Reset()
	argv := []string{"auth", "login", "corp", "--no-browser"}
	if account != "" {
		argv = append(argv, "--account", account)
	}
	done := h.runAsync(ctx, argv...)
	authorize := h.errOut.waitFor(ctx, t, urlRE)
	h.errOut.waitFor(ctx, t, regexp.MustCompile(`Waiting for the browser…`))
	h.secret(playBrowser(t, authorize))
	if code := <-done; code != 0 {
		t.Fatalf("login %q: exit %d:\n%s", account, code, h.errOut)
	}
	return h.errOut.String()
}

type statusRow struct {
	Provider, Account string
	Active            bool
	Authenticated     bool
}

func (h *harness) corpAccounts(t *testing.T) []string {
	t.Helper()
	h.out.buf.Reset()
	if code := h.run(testContext(t), "auth", "status", "--json"); code != 0 && code != 1 {
		t.Fatalf("status exit %d:\n%s", code, h.errOut)
	}
	var list []statusRow
	if err := json.Unmarshal([]byte(h.out.String()), &list); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, h.out)
	}
	var out []string
	for _, st := range list {
		if st.Provider == "corp" && st.Account != "" {
			mark := ""
			if st.Active {
				mark = "*"
			}
			out = append(out, mark+st.Account)
		}
	}
	return out
}

// TestAccountsCommands: logins add accounts (named by --account or by the
// identity) and make each active; switch, token, logout --account and
// logout --all act per account; bad and unknown names are refused.
func TestAccountsCommands(t *testing.T) {
	ctx := testContext(t)
	h := newHarness(t, nil)

	if out := h.login(t, ""); !strings.Contains(out, "corp account ada@example.com is now active") {
		t.Errorf("a login without --account is named after its e-mail:\n%s", out)
	}
	if out := h.login(t, "work"); !strings.Contains(out, "corp account work is now active") {
		t.Errorf("login --account work:\n%s", out)
	}
	if got := h.corpAccounts(t); !slices.Equal(got, []string{"ada@example.com", "*work"}) {
		t.Fatalf("accounts %q, want the last login active", got)
	}

	token := func(argv ...string) string {
		t.Helper()
		h.out.buf.Reset()
		if code := h.run(ctx, append([]string{"auth", "token", "corp"}, argv...)...); code != 0 {
			t.Fatalf("auth token %v: exit %d:\n%s", argv, code, h.errOut)
		}
		return strings.TrimSpace(h.out.String())
	}
	work, home := token(), token("--account", "ada@example.com")
	if work == "" || work == home {
		t.Fatal("the two accounts hand out the same token")
	}

	h.errOut.buf.Reset()
	if code := h.run(ctx, "auth", "switch", "corp"); code != 0 || !strings.Contains(h.errOut.String(), "Switched corp to account ada@example.com") {
		t.Fatalf("switch to the next account: exit %d:\n%s", code, h.errOut)
	}
	if token() != home {
		t.Error("after the switch, auth token still gives the other account's token")
	}
	if code := h.run(ctx, "auth", "switch", "corp", "work"); code != 0 || token() != work {
		t.Errorf("switch corp work: exit %d", code)
	}

	h.out.buf.Reset()
	if code := h.run(ctx, "env", "corp", "--account", "work"); code != 0 || !strings.Contains(h.out.String(), "/corp@work") {
		t.Errorf("env --account: exit %d\n%s", code, h.out)
	}

	for _, tc := range []struct {
		argv []string
		code int
		says string
	}{
		{[]string{"auth", "token", "corp", "--account", "Work"}, 2, "lower-case"},
		{[]string{"auth", "switch", "corp", "nobody"}, 1, `corp has no account "nobody" (its accounts: ada@example.com, work)`},
		{[]string{"env", "corp", "--account", "nobody"}, 1, "its accounts: ada@example.com, work"},
		{[]string{"auth", "logout", "corp", "--account", "x", "--all", "--yes"}, 2, "cannot be used together"},
	} {
		h.errOut.buf.Reset()
		if code := h.run(ctx, tc.argv...); code != tc.code || !strings.Contains(h.errOut.String(), tc.says) {
			t.Errorf("%v: exit %d (want %d):\n%s", tc.argv, code, tc.code, h.errOut)
		}
	}

	h.errOut.buf.Reset()
	if code := h.run(ctx, "auth", "logout", "corp", "--yes"); code != 0 || !strings.Contains(h.errOut.String(), "corp account ada@example.com is active") {
		t.Fatalf("logout of the active account: exit %d:\n%s", code, h.errOut)
	}
	if got := h.corpAccounts(t); !slices.Equal(got, []string{"*ada@example.com"}) {
		t.Errorf("after logging out of work: %q, want the other account active", got)
	}
	h.login(t, "work")
	if code := h.run(ctx, "auth", "logout", "corp", "--all", "--yes"); code != 0 {
		t.Fatalf("logout --all: exit %d:\n%s", code, h.errOut)
	}
	if got := h.corpAccounts(t); len(got) != 0 {
		t.Errorf("after logout --all: %q", got)
	}
	h.assertNoSecrets()
}
