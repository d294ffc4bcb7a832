package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/zalando/go-keyring"
)

// testClockStart is the fake "now" of every store built by the tests.
var testClockStart = time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)

// backend builds a fresh, empty store driven by a fake clock.
type backend struct {
	name string
	open func(t *testing.T, clk clockwork.Clock) Store
}

func allBackends() []backend {
	return []backend{
		{"file", func(t *testing.T, clk clockwork.Clock) Store {
			s, err := NewFile(t.TempDir(), withClock(clk))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"memory", func(t *testing.T, clk clockwork.Clock) Store {
			m := NewMemory()
			m.wait.clock = clk
			return m
		}},
		{"keyring", func(t *testing.T, clk clockwork.Clock) Store {
			keyring.MockInit()
			k, err := NewKeyring(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			k.wait.clock = clk
			return k
		}},
	}
}

// blob is a valid v1 credentials blob carrying n, so tests can tell values apart.
func blob(n int) []byte {
	return fmt.Appendf(nil, `{"version":1,"provider":"claude","access_token":"sk-ant-oat01-%08d-SECRETSECRET","n":%d}`, n, n)
}

func blobN(t *testing.T, b []byte) int {
	t.Helper()
	var v struct{ N int }
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("stored blob does not parse: %v", err)
	}
	return v.N
}

// TestContract runs the behaviour every backend promises to callers against
// all three backends. Not parallel: the keyring mock is a package global.
func TestContract(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, s Store, clk *clockwork.FakeClock)
	}{
		{"load of nothing is ErrNotFound", func(t *testing.T, s Store, _ *clockwork.FakeClock) {
			_, err := s.Load(context.Background(), "claude")
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Load = %v, want ErrNotFound", err)
			}
		}},
		{"save then load returns the blob", func(t *testing.T, s Store, _ *clockwork.FakeClock) {
			ctx := context.Background()
			mustSave(t, s, "claude", blob(1))
			mustSave(t, s, "claude", blob(2))
			got, err := s.Load(ctx, "claude")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(blob(2)) {
				t.Fatalf("Load = %q, want the last saved blob", got)
			}
		}},
		{"store and caller never share a buffer", func(t *testing.T, s Store, _ *clockwork.FakeClock) {
			ctx := context.Background()
			in := blob(1)
			mustSave(t, s, "claude", in)
			copy(in, "########")
			out, err := s.Load(ctx, "claude")
			if err != nil {
				t.Fatal(err)
			}
			copy(out, "YYYYYYYY")
			again, err := s.Load(ctx, "claude")
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(blob(1)) {
				t.Fatalf("stored blob changed through a caller's slice: %q", again)
			}
		}},
		{"delete removes and deleting nothing is fine", func(t *testing.T, s Store, _ *clockwork.FakeClock) {
			ctx := context.Background()
			mustSave(t, s, "claude", blob(1))
			for i := 0; i < 2; i++ {
				if err := s.Delete(ctx, "claude"); err != nil {
					t.Fatalf("Delete #%d = %v", i+1, err)
				}
			}
			if _, err := s.Load(ctx, "claude"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Load after Delete = %v, want ErrNotFound", err)
			}
		}},
		{"list is sorted and follows saves and deletes", func(t *testing.T, s Store, _ *clockwork.FakeClock) {
			ctx := context.Background()
			assertList(t, s)
			for _, p := range []string{"copilot", "claude", "codex", "corp-sso"} {
				mustSave(t, s, p, blob(1))
			}
			assertList(t, s, "claude", "codex", "copilot", "corp-sso")
			if err := s.Delete(ctx, "codex"); err != nil {
				t.Fatal(err)
			}
			assertList(t, s, "claude", "copilot", "corp-sso")
		}},
		{"provider names that could escape are refused", func(t *testing.T, s Store, _ *clockwork.FakeClock) {
			ctx := context.Background()
			bad := []string{"", "../claude", "a/b", `a\b`, ".hidden", "Claude", "_index", "x.json", "a\x00b", "claude ", strings.Repeat("a", 65)}
			for _, p := range bad {
				if _, err := s.Load(ctx, p); !errors.Is(err, ErrInvalid) {
					t.Errorf("Load(%q) = %v, want ErrInvalid", p, err)
				}
				if err := s.Save(ctx, p, blob(1)); !errors.Is(err, ErrInvalid) {
					t.Errorf("Save(%q) = %v, want ErrInvalid", p, err)
				}
				if err := s.Delete(ctx, p); !errors.Is(err, ErrInvalid) {
					t.Errorf("Delete(%q) = %v, want ErrInvalid", p, err)
				}
				if _, err := s.Lock(ctx, p); !errors.Is(err, ErrInvalid) {
					t.Errorf("Lock(%q) = %v, want ErrInvalid", p, err)
				}
			}
			assertList(t, s)
		}},
		{"save refuses a blob that load would reject", func(t *testing.T, s Store, _ *clockwork.FakeClock) {
			ctx := context.Background()
			mustSave(t, s, "claude", blob(1))
			bad := map[string]string{
				"empty":          ``,
				"blank":          " \n\t",
				"truncated":      `{"version":1,"access_token":"sk-SECRET`,
				"not json":       `access_token=sk-SECRET`,
				"array":          `["sk-SECRET"]`,
				"null":           `null`,
				"string":         `"sk-SECRET"`,
				"no version":     `{"access_token":"sk-SECRET"}`,
				"version 2":      `{"version":2,"access_token":"sk-SECRET"}`,
				"version string": `{"version":"sk-SECRET"}`,
				"version float":  `{"version":1.5}`,
				"oversized":      `{"version":1,"x":"` + strings.Repeat("a", maxBlobSize) + `"}`,
			}
			for name, b := range bad {
				err := s.Save(ctx, "claude", []byte(b))
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("%s: Save = %v, want ErrInvalid", name, err)
					continue
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Errorf("%s: error text leaks the blob: %v", name, err)
				}
			}
			got, err := s.Load(ctx, "claude")
			if err != nil || string(got) != string(blob(1)) {
				t.Fatalf("after refused saves Load = %q, %v; want the earlier blob intact", got, err)
			}
		}},
		{"lock serialises read-modify-write across goroutines", func(t *testing.T, s Store, _ *clockwork.FakeClock) {
			const workers, each = 4, 15
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						if err := increment(context.Background(), s, "claude"); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			got, err := s.Load(context.Background(), "claude")
			if err != nil {
				t.Fatal(err)
			}
			if n := blobN(t, got); n != workers*each {
				t.Fatalf("after %d locked increments the count is %d", workers*each, n)
			}
		}},
		{"lock of one provider does not block another", func(t *testing.T, s Store, _ *clockwork.FakeClock) {
			ctx := context.Background()
			unlock, err := s.Lock(ctx, "claude")
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			unlock2, err := s.Lock(ctx, "codex")
			if err != nil {
				t.Fatalf("Lock(codex) while claude is held = %v", err)
			}
			unlock2()
		}},
		{"unlock twice is harmless and frees the lock", func(t *testing.T, s Store, _ *clockwork.FakeClock) {
			ctx := context.Background()
			unlock, err := s.Lock(ctx, "claude")
			if err != nil {
				t.Fatal(err)
			}
			unlock()
			unlock()
			unlock, err = s.Lock(ctx, "claude")
			if err != nil {
				t.Fatalf("Lock after unlock = %v", err)
			}
			unlock()
		}},
		{"a cancelled wait for the lock is not a timeout", func(t *testing.T, s Store, _ *clockwork.FakeClock) {
			unlock, err := s.Lock(context.Background(), "claude")
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err = s.Lock(ctx, "claude")
			if !errors.Is(err, context.Canceled) || errors.Is(err, ErrLockTimeout) {
				t.Fatalf("Lock with a cancelled ctx = %v, want context.Canceled", err)
			}
		}},
		{"lock held past the timeout is ErrLockTimeout", func(t *testing.T, s Store, clk *clockwork.FakeClock) {
			ctx := context.Background()
			unlock, err := s.Lock(ctx, "claude")
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			got := make(chan error, 1)
			go func() {
				u, err := s.Lock(ctx, "claude")
				if err == nil {
					u()
				}
				got <- err
			}()
			waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := clk.BlockUntilContext(waitCtx, 1); err != nil {
				t.Fatal("second Lock never started waiting:", err)
			}
			clk.Advance(DefaultLockTimeout)
			if err := <-got; !errors.Is(err, ErrLockTimeout) {
				t.Fatalf("Lock past the timeout = %v, want ErrLockTimeout", err)
			}
		}},
		{"location names the provider", func(t *testing.T, s Store, _ *clockwork.FakeClock) {
			if loc := s.Location("claude"); !strings.Contains(loc, "claude") {
				t.Fatalf("Location = %q, want it to name the provider", loc)
			}
		}},
	}
	for _, b := range allBackends() {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					clk := clockwork.NewFakeClockAt(testClockStart)
					tc.run(t, b.open(t, clk), clk)
				})
			}
		})
	}
}

func mustSave(t *testing.T, s Store, provider string, b []byte) {
	t.Helper()
	if err := s.Save(context.Background(), provider, b); err != nil {
		t.Fatalf("Save(%s) = %v", provider, err)
	}
}

func assertList(t *testing.T, s Store, want ...string) {
	t.Helper()
	got, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("List = %q, want %q", got, want)
	}
}

// increment is one locked read-modify-write of provider's counter blob.
func increment(ctx context.Context, s Store, provider string) error {
	unlock, err := s.Lock(ctx, provider)
	if err != nil {
		return err
	}
	defer unlock()
	n := 0
	b, err := s.Load(ctx, provider)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	default:
		var v struct{ N int }
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		n = v.N
	}
	return s.Save(ctx, provider, blob(n+1))
}
