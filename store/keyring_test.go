package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/zalando/go-keyring"
)

// Keyring tests are not parallel: go-keyring's mock is a package global.

func newTestKeyring(t *testing.T) (*Keyring, *clockwork.FakeClock) {
	t.Helper()
	keyring.MockInit()
	k, err := NewKeyring(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clk := clockwork.NewFakeClockAt(testClockStart)
	k.wait.clock = clk
	return k, clk
}

func TestKeyringStoresOneItemPerProvider(t *testing.T) {
	k, _ := newTestKeyring(t)
	mustSave(t, k, "claude", blob(1))
	got, err := keyring.Get(KeyringService, "claude")
	if err != nil || got != string(blob(1)) {
		t.Fatalf("item ccproxy-tui/claude = %q, %v; want the blob", got, err)
	}
	if loc := k.Location("claude"); loc != "keyring:ccproxy-tui/claude" {
		t.Fatalf("Location = %q", loc)
	}
}

func TestKeyringIndexIsSharedBetweenInstances(t *testing.T) {
	a, _ := newTestKeyring(t)
	// A second instance over the same keyring, like a second process.
	b, err := NewKeyring(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mustSave(t, a, "codex", blob(1))
	mustSave(t, b, "claude", blob(2))
	assertList(t, a, "claude", "codex")
	if err := a.Delete(context.Background(), "codex"); err != nil {
		t.Fatal(err)
	}
	assertList(t, b, "claude")
}

func TestKeyringUnreadableIndexListsNothingAndHeals(t *testing.T) {
	k, _ := newTestKeyring(t)
	if err := keyring.Set(KeyringService, keyringIndex, "{not json"); err != nil {
		t.Fatal(err)
	}
	assertList(t, k)
	mustSave(t, k, "claude", blob(1))
	assertList(t, k, "claude")
}

func TestKeyringCorruptItemIsKeptAside(t *testing.T) {
	cases := []struct{ name, content string }{
		{"wrong version", `{"version":-9,"access_token":"sk-ant-oat01-SECRET"}`},
		{"truncated", `{"version":1,"access_token":"sk-ant-oat01-SECRET`},
		{"empty", ``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, _ := newTestKeyring(t)
			if err := keyring.Set(KeyringService, "claude", tc.content); err != nil {
				t.Fatal(err)
			}
			_, err := k.Load(context.Background(), "claude")
			var ce *CorruptError
			if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) {
				t.Fatalf("Load = %v, want a *CorruptError", err)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("error leaks the item: %v", err)
			}
			if ce.KeptAs != "keyring:ccproxy-tui/claude.corrupt-20261123T010203Z" {
				t.Fatalf("KeptAs = %q", ce.KeptAs)
			}
			kept, err := keyring.Get(KeyringService, "claude.corrupt-20261123T010203Z")
			if err != nil || kept != tc.content {
				t.Fatalf("kept-aside item differs from the original (%v)", err)
			}
			if _, err := k.Load(context.Background(), "claude"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Load after keeping aside = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestKeyringWithoutSecretServiceSaysUseFile(t *testing.T) {
	keyring.MockInitWithError(errors.New("The name org.freedesktop.secrets was not provided by any .service files\n(dbus)"))
	k, err := NewKeyring(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	calls := map[string]error{
		"load":   func() error { _, err := k.Load(ctx, "claude"); return err }(),
		"save":   k.Save(ctx, "claude", blob(1)),
		"delete": k.Delete(ctx, "claude"),
		"list":   func() error { _, err := k.List(ctx); return err }(),
	}
	for op, err := range calls {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s = %v, want ErrUnavailable", op, err)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, `backend = "file"`) || !strings.Contains(msg, "config.toml") {
			t.Errorf("%s: %q should be one line naming backend = \"file\" in config.toml", op, msg)
		}
		if strings.Contains(msg, "SECRETSECRET") {
			t.Errorf("%s: error leaks the blob: %q", op, msg)
		}
	}
}

// hangingService never answers until released, like a wedged D-Bus daemon.
type hangingService struct {
	release  chan struct{}
	returned chan struct{}
}

func (h hangingService) Get(string, string) (string, error) {
	<-h.release
	close(h.returned)
	return "", errors.New("too late")
}
func (h hangingService) Set(string, string, string) error { return errors.New("unused") }
func (h hangingService) Delete(string, string) error      { return errors.New("unused") }

func TestKeyringHungServiceTimesOut(t *testing.T) {
	k, clk := newTestKeyring(t)
	hung := hangingService{release: make(chan struct{}), returned: make(chan struct{})}
	k.svc = hung
	k.busy = make(chan struct{}, 1)
	defer func() {
		close(hung.release)
		<-hung.returned // the abandoned call ends before goleak looks
	}()

	got := make(chan error, 1)
	go func() {
		_, err := k.Load(context.Background(), "claude")
		got <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(keyringCallTimeout)
	err := <-got
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "did not answer") ||
		!strings.Contains(err.Error(), `backend = "file"`) {
		t.Fatalf("Load against a hung service = %v, want ErrUnavailable naming the fix", err)
	}
}

func TestKeyringSaveKeepsACorruptItemAside(t *testing.T) {
	k, _ := newTestKeyring(t)
	if err := keyring.Set(KeyringService, "claude", "{truncated"); err != nil {
		t.Fatal(err)
	}
	mustSave(t, k, "claude", blob(3))
	if kept, err := keyring.Get(KeyringService, "claude.corrupt-20261123T010203Z"); err != nil || kept != "{truncated" {
		t.Fatalf("corrupt item was overwritten instead of kept aside (%q, %v)", kept, err)
	}
	if got, err := k.Load(context.Background(), "claude"); err != nil || blobN(t, got) != 3 {
		t.Fatalf("Load = %v after Save", err)
	}
}

func TestKeyringLockIsAFileLockInLockDir(t *testing.T) {
	k, clk := newTestKeyring(t)
	lockPath := filepath.Join(k.lockDir, "claude.lock")
	_, err := lockWhileAnotherHolds(t, k, clk, lockPath, DefaultLockTimeout)
	if !errors.Is(err, ErrLockTimeout) || !strings.Contains(err.Error(), lockPath) {
		t.Fatalf("Lock while another process holds %s = %v, want ErrLockTimeout naming it", lockPath, err)
	}
}
