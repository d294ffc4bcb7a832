package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"golang.org/x/oauth2"
)

// runDevice runs DeviceLogin while a helper advances the fake clock one
// second every time the poll loop waits, and reports how much fake time the
// login took.
func runDevice(t *testing.T, f *fixture) (Credentials, DeviceCode, time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	advancer := make(chan struct{})
	go func() {
		defer close(advancer)
		for f.clock.BlockUntilContext(ctx, 1) == nil {
			f.clock.Advance(time.Second)
		}
	}()
	var shown DeviceCode
	calls := 0
	c, err := f.cfg.DeviceLogin(ctx, func(dc DeviceCode) { shown = dc; calls++ })
	took := f.clock.Since(t0)
	cancel()
	<-advancer
	if calls > 1 {
		t.Errorf("show called %d times, want once", calls)
	}
	return c, shown, took, err
}

func TestDeviceLogin(t *testing.T) {
	tests := []struct {
		name   string
		script []string
		opts   []fake.Option
		took   time.Duration
		polls  int
		kind   error
		code   string
	}{
		{name: "approved after one pending poll", took: 2 * time.Second, polls: 2},
		{
			name:   "slow_down then success",
			script: []string{fake.DevicePending, fake.DeviceSlowDown, fake.DeviceApprove},
			// 1s, 1s, then the interval grows by 5s: 1+1+6.
			took: 8 * time.Second, polls: 3,
		},
		{
			name:   "two slow_downs stack",
			script: []string{fake.DeviceSlowDown, fake.DeviceSlowDown, fake.DeviceApprove},
			took:   1*time.Second + 6*time.Second + 11*time.Second, polls: 3,
		},
		{
			name:   "denied",
			script: []string{fake.DevicePending, fake.DeviceDenied},
			took:   2 * time.Second, polls: 2, kind: ErrLoginRequired, code: "access_denied",
		},
		{
			name:   "expired on the server",
			script: []string{fake.DeviceExpired},
			took:   time.Second, polls: 1, kind: ErrLoginRequired, code: "expired_token",
		},
		{
			name: "expires before approval",
			opts: []fake.Option{fake.WithManualApproval(), fake.WithDeviceTTL(3 * time.Second)},
			// Polls at 1s and 2s; at 3s the code is dead without asking.
			took: 3 * time.Second, polls: 2, kind: ErrLoginRequired, code: "expired_token",
		},
		{
			name: "interval from the server",
			opts: []fake.Option{fake.WithDeviceInterval(3 * time.Second)},
			took: 6 * time.Second, polls: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts...)
			if tc.script != nil {
				f.srv.ScriptDevice(tc.script...)
			}
			c, shown, took, err := runDevice(t, f)
			if shown.UserCode == "" || !strings.HasSuffix(shown.VerificationURI, "/device") ||
				!strings.Contains(shown.VerificationURIComplete, shown.UserCode) {
				t.Errorf("shown %+v lacks the user code or verification URIs", shown)
			}
			if shown.ExpiresAt.IsZero() || shown.Interval <= 0 {
				t.Errorf("shown %+v lacks expiry or interval", shown)
			}
			if took != tc.took {
				t.Errorf("login took %v of clock time, want %v", took, tc.took)
			}
			if n := f.srv.Counts().DevicePoll; n != tc.polls {
				t.Errorf("polls = %d, want %d", n, tc.polls)
			}
			if tc.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				if c.AccessToken == "" || c.RefreshToken == "" || !c.ExpiresAt.Equal(t0.Add(tc.took+time.Hour)) {
					t.Errorf("credentials %v", c)
				}
				return
			}
			ae := wantKind(t, err, tc.kind)
			if ae.Code != tc.code || !strings.Contains(err.Error(), "--device") {
				t.Errorf("error %q code %q, want %q and a next step", err, ae.Code, tc.code)
			}
		})
	}
}

func TestDeviceLoginShowsExpiry(t *testing.T) {
	f := newFixture(t, fake.WithDeviceTTL(15*time.Minute))
	_, shown, _, err := runDevice(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if !shown.ExpiresAt.Equal(t0.Add(15*time.Minute)) || shown.Interval != time.Second {
		t.Errorf("ExpiresAt %v Interval %v, want %v and 1s", shown.ExpiresAt, shown.Interval, t0.Add(15*time.Minute))
	}
}

func TestDeviceLoginManualApproval(t *testing.T) {
	f := newFixture(t, fake.WithManualApproval())
	f.srv.ScriptDevice(fake.DevicePending, fake.DevicePending)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	advancer := make(chan struct{})
	go func() {
		defer close(advancer)
		for f.clock.BlockUntilContext(ctx, 1) == nil {
			if f.srv.Counts().DevicePoll == 2 {
				f.srv.Approve("")
			}
			f.clock.Advance(time.Second)
		}
	}()
	c, err := f.cfg.DeviceLogin(ctx, nil)
	cancel()
	<-advancer
	if err != nil || c.AccessToken == "" {
		t.Fatalf("login = %v, %v", c, err)
	}
	if n := f.srv.Counts().DevicePoll; n != 3 {
		t.Errorf("polls = %d, want 3", n)
	}
}

func TestDeviceLoginCancel(t *testing.T) {
	f := newFixture(t, fake.WithManualApproval())
	ctx, cancel := context.WithCancel(context.Background())
	_, err := f.cfg.DeviceLogin(ctx, func(DeviceCode) { cancel() })
	wantKind(t, err, ErrCancelled)
}

func TestDeviceLoginMisconfigured(t *testing.T) {
	t.Run("no device endpoint", func(t *testing.T) {
		f := newFixture(t)
		f.cfg.DeviceURL = ""
		_, err := f.cfg.DeviceLogin(context.Background(), nil)
		wantKind(t, err, ErrMisconfigured)
	})
	t.Run("unknown client", func(t *testing.T) {
		f := newFixture(t)
		f.cfg.ClientID = "someone-else"
		_, err := f.cfg.DeviceLogin(context.Background(), nil)
		ae := wantKind(t, err, ErrMisconfigured)
		if ae.Code != "invalid_client" {
			t.Errorf("code %q, want invalid_client", ae.Code)
		}
	})
	t.Run("device endpoint answers HTML", func(t *testing.T) {
		f := newFixture(t)
		f.cfg.DeviceURL = f.srv.URL() + "/device"
		_, err := f.cfg.DeviceLogin(context.Background(), nil)
		wantKind(t, err, ErrMisconfigured)
	})
}

// TestDeviceHooksAdaptTheFlow drives a device login whose endpoints are not
// RFC 8628 through DeviceHooks: auth makes the calls to the hook's URLs and
// runs its own poll loop, and the standard device endpoint is never asked.
func TestDeviceHooksAdaptTheFlow(t *testing.T) {
	f := newFixture(t)
	var polls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /start", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"dev-7","code":"ABCD-EFGH"}`)
	})
	mux.HandleFunc("POST /poll", func(w http.ResponseWriter, r *http.Request) {
		if polls.Add(1) < 3 {
			http.Error(w, "{}", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"hook-access-token-0123456789","expires_in":600}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f.cfg.DeviceURL = ""
	f.cfg.Hooks.Device = DeviceHooks{
		Start: func(cfg *Config) Request {
			return Request{URL: srv.URL + "/start", Key: "device_url", Body: map[string]string{"client_id": cfg.ClientID}}
		},
		Code: func(cfg *Config, a *Answer) (DeviceCode, Request, error) {
			var v struct{ ID, Code string }
			if err := a.Decode(&v); err != nil {
				return DeviceCode{}, Request{}, err
			}
			dc := DeviceCode{UserCode: v.Code, VerificationURI: "https://example.invalid/device", Interval: 2 * time.Second}
			return dc, Request{URL: srv.URL + "/poll", Key: "device_url", Body: map[string]string{"id": v.ID}}, nil
		},
		Poll: func(_ context.Context, cfg *Config, a *Answer) (*oauth2.Token, error) {
			if a.Status == http.StatusForbidden {
				return nil, ErrDevicePending
			}
			return parseToken(a)
		},
	}
	c, shown, took, err := runDevice(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if shown.UserCode != "ABCD-EFGH" || c.AccessToken != "hook-access-token-0123456789" ||
		!c.ExpiresAt.Equal(t0.Add(took+10*time.Minute)) || f.srv.Counts().DeviceAuth != 0 {
		t.Errorf("hook flow: shown %+v creds %v", shown, c)
	}
	if n := polls.Load(); n != 3 || took != 6*time.Second {
		t.Errorf("polls = %d over %v, want 3 over 6s (the hook's 2s interval)", n, took)
	}

	f.cfg.Hooks.Device.Code = func(*Config, *Answer) (DeviceCode, Request, error) {
		return DeviceCode{}, Request{}, errors.New("boom")
	}
	_, err = f.cfg.DeviceLogin(context.Background(), nil)
	wantKind(t, err, ErrTransient)
}

func TestDeviceLoginRidesOutTransientFailures(t *testing.T) {
	t.Run("recovers", func(t *testing.T) {
		f := newFixture(t)
		f.srv.InjectTokenFault(fake.FaultServerError(), 1)
		f.srv.InjectTokenFault(fake.FaultRateLimited("4"), 1)
		c, _, took, err := runDevice(t, f)
		if err != nil {
			t.Fatal(err)
		}
		// 1s → 500; 1s → 429 asks for 4s; 4s → pending; 1s → approved.
		if took != 7*time.Second || c.AccessToken == "" {
			t.Errorf("took %v, creds %v", took, c)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		f := newFixture(t)
		f.srv.InjectTokenFault(fake.FaultServerError(), maxDevicePollFailures+1)
		_, _, _, err := runDevice(t, f)
		wantKind(t, err, ErrTransient)
		if n := f.srv.Counts().Token; n != maxDevicePollFailures+1 {
			t.Errorf("token calls = %d, want %d", n, maxDevicePollFailures+1)
		}
	})
	t.Run("HTML is not ridden out", func(t *testing.T) {
		f := newFixture(t)
		f.srv.InjectTokenFault(fake.FaultHTML(), 1)
		_, _, _, err := runDevice(t, f)
		wantKind(t, err, ErrMisconfigured)
	})
}

// TestDeviceLoginPollFaults feeds the one poll loop the faults a token
// endpoint shows while the user types the code: each is ridden out, waiting
// at least the server's Retry-After, and the login still completes.
func TestDeviceLoginPollFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   fake.Fault
		timeout time.Duration
		took    time.Duration
	}{
		// 1s → fault; 1s → pending; 1s → approved.
		{name: "503", fault: fake.FaultUnavailable(), took: 3 * time.Second},
		{name: "reset connection", fault: fake.FaultReset(), took: 3 * time.Second},
		{name: "slow answer", fault: fake.FaultStall(), timeout: 50 * time.Millisecond, took: 3 * time.Second},
		// 1s → 429 asks for 4s; 4s → pending; 1s → approved.
		{name: "429 with Retry-After seconds", fault: fake.FaultRateLimited("4"), took: 6 * time.Second},
		// The date is 10s after t0: the 429 at 1s waits 9s; pending at 10s, approved at 11s.
		{name: "429 with Retry-After date", fault: fake.FaultRateLimited(t0.Add(10 * time.Second).Format(http.TimeFormat)), took: 11 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.timeout > 0 {
				f.cfg.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: tc.timeout}
			}
			f.srv.InjectTokenFault(tc.fault, 1)
			c, _, took, err := runDevice(t, f)
			if err != nil {
				t.Fatal(err)
			}
			if took != tc.took || c.AccessToken == "" {
				t.Errorf("took %v, want %v; creds %v", took, tc.took, c)
			}
			if n := f.srv.Counts().Token; n != 3 {
				t.Errorf("token calls = %d, want 3", n)
			}
		})
	}
}
