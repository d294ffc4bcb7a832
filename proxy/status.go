package proxy

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/quota"
)

// statusBody is GET /status: the `auth status --json` array, the proxy's
// counters and the `quota --json` array.
type statusBody struct {
	Providers []auth.Status    `json:"providers"`
	Proxy     Counters         `json:"proxy"`
	Quota     []quota.Snapshot `json:"quota"`
	// AuthDropped counts credential events a slow reader missed; the
	// proxy's own are Proxy.Dropped.
	AuthDropped uint64 `json:"auth_dropped_events"`
	// Ledger is the usage ledger's state (Options.Ledger), absent without one.
	Ledger any `json:"ledger,omitempty"`
}

// serveHealth answers GET /healthz with 200 to anyone the door lets in, key
// or not: it reveals nothing but liveness.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if e := s.checkDoor(r, false); e != nil {
		writeError(w, "", apiError{status: e.status, kind: doorKind(e.status), code: doorCode(e), msg: e.msg})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, "", apiError{status: http.StatusMethodNotAllowed, kind: "invalid_request_error", code: "method_not_allowed", msg: "use GET"})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set(pidHeader, strconv.Itoa(os.Getpid()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok\n"))
}

// serveStatus answers GET /status; it needs the api key when one is set,
// because it shows accounts and masked token previews.
func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	if e := s.checkDoor(r, true); e != nil {
		writeError(w, "", apiError{status: e.status, kind: doorKind(e.status), code: doorCode(e), msg: e.msg})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, "", apiError{status: http.StatusMethodNotAllowed, kind: "invalid_request_error", code: "method_not_allowed", msg: "use GET"})
		return
	}
	body := statusBody{Providers: []auth.Status{}, Proxy: s.Stats(), Quota: []quota.Snapshot{}}
	if s.opts.Quota != nil {
		if q := s.opts.Quota(r.Context()); q != nil {
			body.Quota = q
		}
	}
	if s.opts.AuthDropped != nil {
		body.AuthDropped = s.opts.AuthDropped()
	}
	if s.opts.Ledger != nil {
		body.Ledger = s.opts.Ledger()
	}
	if s.opts.Status != nil {
		if st := s.opts.Status(r.Context()); st != nil {
			body.Providers = st
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(body)
}
