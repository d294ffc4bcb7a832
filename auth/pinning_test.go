package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestSameAccount(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after Credentials
		changed       bool
	}{
		{"same sub", Credentials{AccountID: "a"}, Credentials{AccountID: "a", Email: "new@example.com"}, false},
		{"other sub", Credentials{AccountID: "a"}, Credentials{AccountID: "b"}, true},
		{"other email, no ids", Credentials{Email: "ada@example.com"}, Credentials{Email: "eve@example.com"}, true},
		{"email case", Credentials{Email: "Ada@Example.com"}, Credentials{Email: "ada@example.com"}, false},
		{"identity appears", Credentials{}, Credentials{AccountID: "a", Email: "a@example.com"}, false},
		{"identity kept", Credentials{AccountID: "a"}, Credentials{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := SameAccount("demo", tc.before, tc.after)
			if (err != nil) != tc.changed {
				t.Fatalf("SameAccount = %v, want changed=%v", err, tc.changed)
			}
			if err != nil && (!errors.Is(err, ErrLoginRequired) || !strings.Contains(err.Error(), "nothing was saved")) {
				t.Errorf("error %q", err)
			}
		})
	}
}

// A refresh whose answer names another account must not replace the
// stored one: the Manager marks the provider as needing a login and says
// why.
func TestRefreshForAnotherAccountIsNotSaved(t *testing.T) {
	for _, field := range []string{"sub", "email"} {
		t.Run(field, func(t *testing.T) {
			p := newLCProvider(t)
			p.cfg.Hooks.Complete = func(_ context.Context, _ *Config, _ *oauth2.Token, c *Credentials) error {
				if field == "sub" {
					c.AccountID = "someone-else"
				} else {
					c.AccountID, c.Email = "", "eve@example.com"
				}
				return nil
			}
			seeded := p.seed(t, lcT0.Add(time.Minute))
			seeded.AccountID = "user-1"
			if field == "email" {
				seeded.AccountID = ""
			}
			blob, _ := seeded.Marshal()
			if err := p.store.Save(context.Background(), "demo", blob); err != nil {
				t.Fatal(err)
			}
			events, cancel := p.bus.Subscribe(16)
			defer cancel()
			m := p.manager(nil)
			_, err := m.ForceRefresh(context.Background())
			if !errors.Is(err, ErrLoginRequired) || !strings.Contains(err.Error(), "someone-else") && !strings.Contains(err.Error(), "eve@") {
				t.Fatalf("ForceRefresh = %v, want a login-required error naming the other account", err)
			}
			raw, err := p.store.Load(context.Background(), "demo")
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := UnmarshalCredentials(raw)
			if stored.AccessToken != seeded.AccessToken || stored.AccountID != seeded.AccountID || stored.Email != seeded.Email {
				t.Errorf("the other account's credentials were saved: %+v", stored)
			}
			st := m.Status(context.Background())
			if st.State != StateNeedsLogin || !strings.Contains(st.Reason, "another account") {
				t.Errorf("status %s %q, want needs_login saying why", st.State, st.Reason)
			}
			var saw bool
			for len(events) > 0 {
				if e := <-events; e.Kind == NeedsLogin && e.Err != nil && strings.Contains(e.Err.Error(), "nothing was saved") {
					saw = true
				}
			}
			if !saw {
				t.Error("no needs-login event says why")
			}
		})
	}
}
