package accounts

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// Environment of a child process started by the migration tests.
const (
	childEnv = "CCPROXY_ACCOUNTS_CHILD" // "migrate" or "crash"
	dirEnv   = "CCPROXY_ACCOUNTS_DIR"
)

// TestMain runs a child's body when started as one, and otherwise the
// tests, failing them if any goroutine outlives them.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	goleak.VerifyTestMain(m)
}

// child migrates "claude" in the folder dirEnv names. "migrate" waits for
// a line on stdin first, so several children start together, and prints
// what it moved. "crash" stops dead inside the second write: it prints
// "between" and waits to be killed.
func child(mode string) int {
	st, err := store.NewFile(os.Getenv(dirEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var s store.Store = st
	switch mode {
	case "migrate":
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	case "crash":
		s = &hangingStore{Store: st, key: store.ActiveKey("claude"), reached: func() { fmt.Println("between") }}
	}
	name, err := New(s, nil).Migrate(context.Background(), "claude")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("moved=%s\n", name)
	return 0
}

// hangingStore never returns from a Save of key: it reports reaching it
// and blocks, like a process frozen at that point until it is killed.
type hangingStore struct {
	store.Store
	key     string
	reached func()
}

func (h *hangingStore) Save(ctx context.Context, key string, blob []byte) error {
	if key == h.key {
		h.reached()
		<-ctx.Done()
		return ctx.Err()
	}
	return h.Store.Save(ctx, key, blob)
}
