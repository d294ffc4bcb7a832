package main_test

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
)

// serveProc is the `ccproxy-tui serve` of one end-to-end test: its URL, its
// log as it comes, and all it wrote to stderr for failure messages.
type serveProc struct {
	url     string
	stderr  *syncBuffer
	cmd     *exec.Cmd
	done    chan error
	lines   chan string
	stopped bool
}

// startServe starts serve with env and returns once it listens. The test's
// cleanup kills it if the test did not stop it.
func startServe(ctx context.Context, t *testing.T, bin string, env []string) *serveProc {
	t.Helper()
	p := &serveProc{cmd: exec.Command(bin, "serve"), stderr: &syncBuffer{}, done: make(chan error, 1), lines: make(chan string, 256)}
	p.cmd.Env = env
	pr, pw := io.Pipe()
	p.cmd.Stderr = io.MultiWriter(p.stderr, pw)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if !p.stopped {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default: // nobody waits for this one
			}
		}
	}()
	p.url = p.waitLog(ctx, t, regexp.MustCompile(`serving.*url=(http://127\.0\.0\.1:\d+)`))
	return p
}

// waitLog waits for serve to log a line re matches and returns the last
// submatch (the whole match when re has no group).
func (p *serveProc) waitLog(ctx context.Context, t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("serve exited before logging %s:\n%s", re, p.stderr)
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m[len(m)-1]
			}
		case <-ctx.Done():
			t.Fatalf("serve never logged %s:\n%s", re, p.stderr)
		}
	}
}

// stop sends SIGTERM and waits for serve to exit cleanly, as a service
// manager would.
func (p *serveProc) stop(ctx context.Context, t *testing.T) {
	t.Helper()
	p.stopped = true
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("serve exit: %v\n%s", err, p.stderr)
		}
	case <-ctx.Done():
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("serve did not exit after SIGTERM:\n%s", p.stderr)
	}
}
