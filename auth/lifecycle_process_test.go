package auth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/internal/fake"
	"github.com/ccproxy-tui/ccproxy-tui/store"
)

// Environment of a child process of TestTwoProcessesNeverReuseARefreshToken.
const (
	lcChildEnv    = "CCPROXY_LIFECYCLE_CHILD"
	lcDirEnv      = "CCPROXY_LIFECYCLE_DIR"
	lcTokenURLEnv = "CCPROXY_LIFECYCLE_TOKEN_URL"
	lcRoundsEnv   = "CCPROXY_LIFECYCLE_ROUNDS"
)

// TestHelperLifecycleProcess is the child's body: it does nothing unless
// started by TestTwoProcessesNeverReuseARefreshToken with lcChildEnv set.
// It waits for a line on stdin, forces the given number of refreshes of
// provider "demo" through a Manager on the shared file store, and prints
// one result line.
func TestHelperLifecycleProcess(t *testing.T) {
	if os.Getenv(lcChildEnv) == "" {
		return
	}
	rounds, err := strconv.Atoi(os.Getenv(lcRoundsEnv))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := store.NewFile(os.Getenv(lcDirEnv))
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	cfg := &Config{Provider: "demo", ClientID: lcClient, TokenURL: os.Getenv(lcTokenURLEnv),
		HTTPClient: &http.Client{Transport: transport, Timeout: 30 * time.Second}}
	bus := NewBus()
	events, cancel := bus.Subscribe(4 * rounds)
	defer cancel()
	// A cache this short makes every forced refresh start from the store's
	// latest token, so nearly every round is a real rotation racing the
	// other process.
	m := NewManager(ManagerOptions{Provider: "demo", Refresher: cfg, Store: fs, CacheTTL: time.Nanosecond, Bus: bus})

	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	var failed, invalidGrant int
	for range rounds {
		_, err := m.ForceRefresh(context.Background())
		if err != nil {
			failed++
			var ae *Error
			if errors.As(err, &ae) && ae.Code == "invalid_grant" {
				invalidGrant++
			}
			fmt.Fprintln(os.Stderr, "refresh:", err)
		}
	}
	refreshed := 0
	for _, e := range drain(events) {
		if e.Kind == RefreshSucceeded {
			refreshed++
		}
	}
	fmt.Printf("result refreshed=%d failed=%d invalid_grant=%d\n", refreshed, failed, invalidGrant)
}

type lcChild struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *strings.Builder
	stderr *strings.Builder
}

func TestTwoProcessesNeverReuseARefreshToken(t *testing.T) {
	if os.Getenv(lcChildEnv) != "" {
		return // a child runs only its helper
	}
	const rounds = 200
	srv := fake.NewOAuthServer(fake.WithClientID(lcClient))
	defer srv.Close()
	dir := t.TempDir()
	fs, err := store.NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	seedRT := srv.IssueRefreshToken(lcClient, "")
	m := NewManager(ManagerOptions{Provider: "demo", Refresher: &Config{Provider: "demo"}, Store: fs})
	if err := m.Save(context.Background(), Credentials{AccessToken: "seeded-access-token-0123456789",
		RefreshToken: seedRT, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	var children []*lcChild
	for range 2 {
		c := &lcChild{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
		c.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperLifecycleProcess$", "-test.count=1")
		c.cmd.Env = append(os.Environ(), lcChildEnv+"=1", lcDirEnv+"="+dir,
			lcTokenURLEnv+"="+srv.TokenURL(), lcRoundsEnv+"="+strconv.Itoa(rounds))
		c.cmd.Stdout, c.cmd.Stderr = c.stdout, c.stderr
		if c.stdin, err = c.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		children = append(children, c)
	}
	start := time.Now()
	for _, c := range children {
		fmt.Fprintln(c.stdin, "go")
		c.stdin.Close()
	}
	totalRefreshed := 0
	for i, c := range children {
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\nstdout:\n%s\nstderr:\n%s", i, err, c.stdout, c.stderr)
		}
		var refreshed, failed, invalid int
		line := c.stdout.String()
		at := strings.Index(line, "result ")
		if at < 0 {
			t.Fatalf("child %d printed no result:\n%s\nstderr:\n%s", i, line, c.stderr)
		}
		if _, err := fmt.Sscanf(line[at:], "result refreshed=%d failed=%d invalid_grant=%d", &refreshed, &failed, &invalid); err != nil {
			t.Fatalf("child %d: %v in %q", i, err, line)
		}
		if failed != 0 || invalid != 0 {
			t.Errorf("child %d: %d of %d forced refreshes failed, %d with invalid_grant\n%s", i, failed, rounds, invalid, c.stderr)
		}
		t.Logf("child %d: %d forced refreshes, %d reached the server, the rest adopted the other's", i, rounds, refreshed)
		totalRefreshed += refreshed
	}
	elapsed := time.Since(start)

	counts := srv.Counts()
	if refused := counts.Token - counts.Refresh; refused != 0 {
		t.Errorf("the server refused %d refreshes (invalid_grant)", refused)
	}
	if counts.Refresh != totalRefreshed {
		t.Errorf("the server rotated %d times but the children saved %d rotations", counts.Refresh, totalRefreshed)
	}
	if counts.Refresh < rounds {
		t.Errorf("only %d real refreshes for 2×%d forced ones", counts.Refresh, rounds)
	}
	blob, err := fs.Load(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	final, err := UnmarshalCredentials(blob)
	if err != nil {
		t.Fatal(err)
	}
	if final.RefreshToken != srv.LastRefreshToken() {
		t.Errorf("store holds refresh token %s, the server last issued %s", MaskRefresh(final.RefreshToken), MaskRefresh(srv.LastRefreshToken()))
	}
	if !srv.ValidAccessToken(final.AccessToken) {
		t.Error("the stored access token is not one the server issued")
	}
	t.Logf("2 processes × %d forced refreshes: %d rotations, %d invalid_grant, in %s",
		rounds, counts.Refresh, counts.Token-counts.Refresh, elapsed.Round(time.Millisecond))
}
