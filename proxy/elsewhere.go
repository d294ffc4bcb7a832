package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// pidHeader names the process that serves a proxy, on /healthz, so a
// second dashboard or serve can tell "our proxy already runs" from "some
// other program holds the port".
const pidHeader = "X-Ccproxy-Tui-Pid"

// ServingElsewhereError says the listen address is already served by
// another ccproxy-tui process: requests sent there are proxied all the
// same, by that process.
type ServingElsewhereError struct {
	URL string
	PID int
}

func (e *ServingElsewhereError) Error() string {
	return fmt.Sprintf("another ccproxy-tui (pid %d) already serves %s; requests go through it", e.PID, e.URL)
}

// elsewhere asks whoever holds the listen address whether it is a
// ccproxy-tui proxy. Any other answer, or none, leaves the bind error as
// it was.
func (s *Server) elsewhere(ctx context.Context, bindErr error) error {
	if !errors.Is(bindErr, syscall.EADDRINUSE) {
		return bindErr
	}
	url := "http://" + s.opts.Listen
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/healthz", nil)
	if err != nil {
		return bindErr
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return bindErr
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	_ = resp.Body.Close()
	pid, err := strconv.Atoi(resp.Header.Get(pidHeader))
	if resp.StatusCode != http.StatusOK || err != nil || pid <= 0 {
		return bindErr
	}
	return &ServingElsewhereError{URL: url, PID: pid}
}
