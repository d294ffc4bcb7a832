package accounts

import (
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
)

func TestFromIdentity(t *testing.T) {
	tests := []struct {
		name string
		c    auth.Credentials
		want string
	}{
		{"e-mail", auth.Credentials{Email: "Ada@Example.com", AccountID: "acct-1"}, "ada@example.com"},
		{"account id", auth.Credentials{AccountID: "8f0c-AB"}, "8f0c-ab"},
		{"spaces folded", auth.Credentials{Email: "ada lovelace@example.com"}, "ada-lovelace@example.com"},
		{"nothing usable in the e-mail", auth.Credentials{Email: "…", AccountID: "org_7"}, "org_7"},
		{"no identity", auth.Credentials{}, Default},
		{"leading punctuation", auth.Credentials{AccountID: "--x"}, "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := FromIdentity(tc.c)
			if got != tc.want {
				t.Errorf("FromIdentity = %q, want %q", got, tc.want)
			}
			if err := Check(got); err != nil {
				t.Errorf("the name breaks the rule: %v", err)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	tests := []struct {
		key  string
		want Key
		ok   bool
	}{
		{"claude", Key{Provider: "claude"}, true},
		{"claude@ada@example.com", Key{Provider: "claude", Account: "ada@example.com"}, true},
		{"claude.active", Key{Provider: "claude", Active: true}, true},
		{"claude@", Key{Provider: "claude"}, false},
	}
	for _, tc := range tests {
		got, ok := ParseKey(tc.key)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
}
