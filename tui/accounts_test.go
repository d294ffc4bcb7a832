package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

// twoClaudeAccounts is claude with two accounts, the second one active.
func twoClaudeAccounts() []auth.Status {
	return []auth.Status{
		{Provider: "claude", Account: "home", Authenticated: true, State: auth.StateOK, Email: "ada@example.com",
			ExpiresAt: at(90 * time.Minute), AccessTokenPreview: "sk-ant-o...Home0001"},
		{Provider: "claude", Account: "work", Active: true, Authenticated: true, State: auth.StateOK, Email: "ada@corp.example",
			ExpiresAt: at(30 * time.Minute), AccessTokenPreview: "sk-ant-o...Work0002"},
		{Provider: "codex", Authenticated: false, State: auth.StateNeedsLogin, Reason: "not logged in"},
	}
}

// TestAccountsInTheTable: accounts are grouped under their provider with
// the active one marked; s makes the selected account active; refresh and
// logout act on the selected account.
func TestAccountsInTheTable(t *testing.T) {
	r := newRig(t, twoClaudeAccounts())
	m := r.model(t, 120, 30)
	lines := strings.Split(m.View(), "\n")
	var rows []string
	for _, l := range lines {
		if strings.Contains(l, "ada@") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 2 {
		t.Fatalf("want one line per account:\n%s", m.View())
	}
	if !strings.Contains(rows[0], "claude") || strings.Contains(rows[1], "claude") {
		t.Errorf("the provider is not named once above its accounts:\n%s\n%s", rows[0], rows[1])
	}
	if !strings.Contains(rows[1], "* work") || strings.Contains(rows[0], "* home") {
		t.Errorf("the active account is not the one marked:\n%s\n%s", rows[0], rows[1])
	}

	// s on the active account says so and calls nothing.
	m = step(t, m, keyPress("j"))
	m, cmd := send(t, m, keyPress("s"))
	if cmd != nil || len(r.b.Calls()) != 0 || !strings.Contains(m.View(), "active already") {
		t.Errorf("s on the active account: calls %v", r.b.Calls())
	}
	// s on the other one switches to it.
	m, _ = send(t, m, keyPress("k"))
	m, cmd = send(t, m, keyPress("s"))
	done := find[switchDoneMsg](t, results(t, cmd, 1))
	if done.Row != "claude@home" || done.Err != nil {
		t.Errorf("switch done %+v", done)
	}
	if got := r.b.Calls(); len(got) != 1 || got[0] != "switch claude@home" {
		t.Errorf("calls %v, want a switch to claude@home", got)
	}

	m, cmd = send(t, m, keyPress("r"))
	find[refreshDoneMsg](t, results(t, cmd, 1))
	m, _ = send(t, m, keyPress("x"))
	_, cmd = send(t, m, keyPress("y"))
	find[logoutDoneMsg](t, results(t, cmd, 1))
	calls := r.b.Calls()
	if len(calls) != 3 || calls[1] != "refresh claude@home" || calls[2] != "logout claude@home" {
		t.Errorf("calls %v, want refresh and logout of the selected account", calls)
	}
}
