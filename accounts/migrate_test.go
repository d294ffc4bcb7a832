package accounts

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// released copies the credentials the released build wrote into a fresh
// credentials folder and returns it.
func released(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "testdata", "released-v1", "credentials")
	dir := filepath.Join(t.TempDir(), "credentials")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fixture(t *testing.T, provider string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "released-v1", "credentials", provider+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openFile(t *testing.T, dir string) *store.File {
	t.Helper()
	st, err := store.NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// files lists a credentials folder's records (no locks or temp files).
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") || strings.Contains(e.Name(), ".corrupt-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestMigrateReleasedCredentials: each released record becomes its
// provider's active account, byte for byte, with no login; running again
// changes nothing.
func TestMigrateReleasedCredentials(t *testing.T) {
	ctx := context.Background()
	dir := released(t)
	st := openFile(t, dir)
	b := New(st, nil)
	tests := []struct{ provider, account string }{
		{"claude", "ada@example.com"},
		{"codex", "ada@example.com"},
		{"copilot", "ada-gh"},
		{"corp", "ada@corp.example"},
	}
	for _, tc := range tests {
		t.Run(tc.provider, func(t *testing.T) {
			name, err := b.Migrate(ctx, tc.provider)
			if err != nil || name != tc.account {
				t.Fatalf("Migrate = %q, %v; want %q", name, err, tc.account)
			}
			got, err := st.Load(ctx, store.AccountKey(tc.provider, tc.account))
			if err != nil || !bytes.Equal(got, fixture(t, tc.provider)) {
				t.Fatalf("account record = %v; want the released record unchanged", err)
			}
			c, err := auth.UnmarshalCredentials(got)
			if err != nil || c.RefreshToken == "" || c.Provider != tc.provider {
				t.Fatalf("migrated credentials unusable: %v", err)
			}
			if _, err := st.Load(ctx, tc.provider); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("released record still there after the move: %v", err)
			}
			list, err := b.List(ctx, tc.provider)
			if err != nil || !slices.Equal(list, []string{tc.account}) {
				t.Fatalf("List = %q, %v", list, err)
			}
			if a := b.Active(ctx, tc.provider, list); a != tc.account {
				t.Errorf("Active = %q, want %q", a, tc.account)
			}
		})
	}
	before := files(t, dir)
	for _, tc := range tests {
		if name, err := b.Migrate(ctx, tc.provider); err != nil || name != "" {
			t.Errorf("second Migrate(%s) = %q, %v; want nothing to do", tc.provider, name, err)
		}
	}
	if after := files(t, dir); !slices.Equal(before, after) {
		t.Errorf("second run changed the folder: %q → %q", before, after)
	}
}

// TestMigrateKeepsTheNewerRecord: when the account already has a record
// (an interrupted move, or a login since), the newer of the two wins.
func TestMigrateKeepsTheNewerRecord(t *testing.T) {
	ctx := context.Background()
	legacy, err := auth.UnmarshalCredentials(fixture(t, "claude"))
	if err != nil {
		t.Fatal(err)
	}
	newer := legacy
	newer.AccessToken = "sk-ant-oat01-newer-login"
	newer.ObtainedAt = legacy.ObtainedAt.Add(1)
	for _, tc := range []struct {
		name       string
		account    auth.Credentials
		wantAccess string
	}{
		{"account newer", newer, newer.AccessToken},
		{"released newer", func() auth.Credentials {
			older := newer
			older.ObtainedAt, older.LastRefresh = legacy.ObtainedAt.Add(-1), legacy.ObtainedAt.Add(-1)
			return older
		}(), legacy.AccessToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := store.NewMemory()
			if err := st.Save(ctx, "claude", fixture(t, "claude")); err != nil {
				t.Fatal(err)
			}
			blob, _ := tc.account.Marshal()
			if err := st.Save(ctx, store.AccountKey("claude", "ada@example.com"), blob); err != nil {
				t.Fatal(err)
			}
			if _, err := New(st, nil).Migrate(ctx, "claude"); err != nil {
				t.Fatal(err)
			}
			got, _ := st.Load(ctx, store.AccountKey("claude", "ada@example.com"))
			c, _ := auth.UnmarshalCredentials(got)
			if c.AccessToken != tc.wantAccess {
				t.Errorf("kept %q, want %q", auth.MaskAccess(c.AccessToken), auth.MaskAccess(tc.wantAccess))
			}
		})
	}
}

// TestMigrateLeavesANewerRecordAlone: a record a newer build wrote is
// reported, not moved, not set aside, byte for byte unchanged.
func TestMigrateLeavesANewerRecordAlone(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	newer := []byte(`{"version":2,"provider":"claude","access_token":"sk-ant-oat01-SECRET","accounts":{}}`)
	path := filepath.Join(dir, "claude.json")
	if err := os.WriteFile(path, newer, 0o600); err != nil {
		t.Fatal(err)
	}
	name, err := New(openFile(t, dir), nil).Migrate(ctx, "claude")
	if !errors.Is(err, store.ErrNewer) || name != "" {
		t.Fatalf("Migrate = %q, %v; want ErrNewer", name, err)
	}
	if !strings.Contains(err.Error(), "written by a newer ccproxy-tui") {
		t.Errorf("error %q does not say a newer build wrote it", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, newer) {
		t.Fatalf("the newer record changed")
	}
	if got := files(t, dir); !slices.Equal(got, []string{"claude.json"}) {
		t.Fatalf("folder = %q; want only the untouched record", got)
	}
}

// failingStore refuses Saves of one key, as a full disk would.
type failingStore struct {
	store.Store
	key string
}

func (f *failingStore) Save(ctx context.Context, key string, blob []byte) error {
	if key == f.key {
		return fmt.Errorf("save %s: %w", key, syscall.ENOSPC)
	}
	return f.Store.Save(ctx, key, blob)
}

// TestMigrateAFailedWriteKeepsTheReleasedRecord: whichever write fails,
// the released record is still there and a later run completes the move.
func TestMigrateAFailedWriteKeepsTheReleasedRecord(t *testing.T) {
	ctx := context.Background()
	for _, failing := range []string{store.AccountKey("claude", "ada@example.com"), store.ActiveKey("claude")} {
		t.Run(failing, func(t *testing.T) {
			dir := released(t)
			st := openFile(t, dir)
			if _, err := New(&failingStore{Store: st, key: failing}, nil).Migrate(ctx, "claude"); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Migrate = %v, want the write's error", err)
			}
			if got, err := st.Load(ctx, "claude"); err != nil || !bytes.Equal(got, fixture(t, "claude")) {
				t.Fatalf("released record lost after a failed write: %v", err)
			}
			assertMigrated(t, dir)
		})
	}
}

// assertMigrated runs the move again on dir, as the next start would, and
// checks it ends in exactly the state of a move never interrupted.
func assertMigrated(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	st := openFile(t, dir)
	b := New(st, nil)
	if _, err := b.Migrate(ctx, "claude"); err != nil {
		t.Fatalf("the next start's Migrate = %v", err)
	}
	got, err := st.Load(ctx, store.AccountKey("claude", "ada@example.com"))
	if err != nil || !bytes.Equal(got, fixture(t, "claude")) {
		t.Fatalf("account record after the move = %v", err)
	}
	list, _ := b.List(ctx, "claude")
	if !slices.Equal(list, []string{"ada@example.com"}) || b.Active(ctx, "claude", list) != "ada@example.com" {
		t.Fatalf("accounts %q, active %q", list, b.Active(ctx, "claude", list))
	}
	if _, err := st.Load(ctx, "claude"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("released record not removed: %v", err)
	}
	for _, f := range files(t, dir) {
		if strings.HasPrefix(f, "claude") && f != "claude@ada@example.com.json" && f != "claude.active.json" {
			t.Errorf("left behind: %s", f)
		}
	}
}

func childCmd(t *testing.T, mode, dir string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, dirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestMigrateCrashBetweenTheTwoWrites: a process killed after writing the
// account's record and before recording it active leaves the released
// record in place, and the next start finishes the move.
func TestMigrateCrashBetweenTheTwoWrites(t *testing.T) {
	dir := released(t)
	cmd := childCmd(t, "crash", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "between\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child said %q, %v; want it stopped between the writes", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	if got, err := os.ReadFile(filepath.Join(dir, "claude@ada@example.com.json")); err != nil || !bytes.Equal(got, fixture(t, "claude")) {
		t.Fatalf("the first write should have landed before the kill: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "claude.json")); err != nil || !bytes.Equal(got, fixture(t, "claude")) {
		t.Fatalf("released record lost by the crash: %v", err)
	}
	assertMigrated(t, dir)
}

// TestMigrateTwoProcessesAtOnce: two processes starting together move the
// record exactly once and agree on the result.
func TestMigrateTwoProcessesAtOnce(t *testing.T) {
	dir := released(t)
	var mu sync.Mutex
	var moved []string
	var wg sync.WaitGroup
	var starts []func()
	for range 2 {
		cmd := childCmd(t, "migrate", dir)
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		starts = append(starts, func() { _, _ = in.Write([]byte("go\n")) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := cmd.Wait()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("child failed: %v", err)
			}
			moved = append(moved, strings.TrimSpace(out.String()))
		}()
	}
	for _, start := range starts {
		start()
	}
	wg.Wait()
	slices.Sort(moved)
	if want := []string{"moved=", "moved=ada@example.com"}; !slices.Equal(moved, want) {
		t.Fatalf("children reported %q, want %q: exactly one moves the record", moved, want)
	}
	assertMigrated(t, dir)
}
