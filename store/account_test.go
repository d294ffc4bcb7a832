package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/zalando/go-keyring"
)

func TestCheckAccount(t *testing.T) {
	good := []string{"default", "ada@example.com", "work", "acct-7f3", "a.b_c+d", strings.Repeat("a", 64)}
	for _, name := range good {
		if err := CheckAccount(name); err != nil {
			t.Errorf("CheckAccount(%q) = %v, want nil", name, err)
		}
	}
	bad := []string{"", "Work", "../claude", "a/b", ".hidden", "@x", "-x", "a b", "a\x00", "ä", strings.Repeat("a", 65)}
	for _, name := range bad {
		err := CheckAccount(name)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckAccount(%q) = %v, want ErrInvalid", name, err)
		}
	}
}

// TestAccountKeysInEveryBackend: every backend stores, lists, locks and
// deletes an account's record and the active record beside the provider's
// own, and refuses keys that could leave the storage location.
func TestAccountKeysInEveryBackend(t *testing.T) {
	for _, b := range allBackends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := b.open(t, clockwork.NewFakeClockAt(testClockStart))
			keys := []string{"claude", AccountKey("claude", "ada@example.com"), AccountKey("claude", "work"), ActiveKey("claude")}
			for i, k := range keys {
				mustSave(t, s, k, blob(i))
			}
			got, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(keys)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("List = %q, want %q", got, want)
			}
			for i, k := range keys {
				b, err := s.Load(ctx, k)
				if err != nil || blobN(t, b) != i {
					t.Fatalf("Load(%s) = %v, want blob %d", k, err, i)
				}
			}
			unlock, err := s.Lock(ctx, AccountKey("claude", "work"))
			if err != nil {
				t.Fatal(err)
			}
			unlock()
			if err := s.Delete(ctx, AccountKey("claude", "work")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load(ctx, "claude"); err != nil {
				t.Fatalf("deleting an account touched the provider's record: %v", err)
			}
			for _, k := range []string{"claude@../x", "claude@", "claude@Work", "claude.passive", "claude/x@y"} {
				if err := s.Save(ctx, k, blob(9)); !errors.Is(err, ErrInvalid) {
					t.Errorf("Save(%q) = %v, want ErrInvalid", k, err)
				}
			}
		})
	}
}

const newerRecord = `{"version":7,"provider":"claude","access_token":"sk-ant-oat01-SECRET"}`

// TestFileNewerRecordIsLeftUntouched: a record a newer build wrote is
// reported as such, is neither moved aside nor overwritten, and stays
// byte for byte what it was.
func TestFileNewerRecordIsLeftUntouched(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestFile(t)
	path := filepath.Join(s.Dir(), "claude.json")
	if err := os.WriteFile(path, []byte(newerRecord), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := s.Load(ctx, "claude")
	var ne *NewerError
	if !errors.As(err, &ne) || ne.Version != 7 || !errors.Is(err, ErrNewer) || !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load = %v, want a *NewerError of version 7", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "written by a newer ccproxy-tui") || strings.Contains(msg, "SECRET") {
		t.Errorf("message %q: want it to name the newer build and quote nothing", msg)
	}
	if err := s.Save(ctx, "claude", blob(1)); !errors.Is(err, ErrNewer) {
		t.Fatalf("Save over a newer record = %v, want ErrNewer", err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != newerRecord {
		t.Fatalf("the newer record changed: %q, %v", got, err)
	}
	entries, _ := os.ReadDir(s.Dir())
	for _, e := range entries {
		if strings.Contains(e.Name(), corruptMark) {
			t.Fatalf("a newer record was moved aside as %s", e.Name())
		}
	}
}

func TestKeyringNewerRecordIsLeftUntouched(t *testing.T) {
	ctx := context.Background()
	k, _ := newTestKeyring(t)
	if err := keyring.Set(KeyringService, "claude", newerRecord); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Load(ctx, "claude"); !errors.Is(err, ErrNewer) {
		t.Fatalf("Load = %v, want ErrNewer", err)
	}
	if err := k.Save(ctx, "claude", blob(1)); !errors.Is(err, ErrNewer) {
		t.Fatalf("Save = %v, want ErrNewer", err)
	}
	if got, _ := keyring.Get(KeyringService, "claude"); got != newerRecord {
		t.Fatalf("the newer item changed: %q", got)
	}
}
