package proxy

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzDoorAndRoute feeds arbitrary Host, Origin, Sec-Fetch-Site and paths
// to the door and the router: nothing may panic, a request the door lets
// through names a loopback host and no cross-site origin, and a route never
// reaches an upstream that was not configured.
func FuzzDoorAndRoute(f *testing.F) {
	for _, c := range [][4]string{
		{"127.0.0.1:8787", "", "", "/claude/v1/messages"},
		{"evil.example", "", "", "/claude/v1/messages"},
		{"localhost.evil.example:8787", "", "", "/status"},
		{"[::1]:8787", "https://evil.example", "", "/healthz"},
		{"127.0.0.1", "null", "cross-site", "/x/../y"},
		{"127.0.0.1:8787", "http://127.0.0.1:3000", "same-origin", "//claude"},
		{"0x7f.0.0.1", "", "", "/claude@work/v1"},
	} {
		f.Add(c[0], c[1], c[2], c[3])
	}
	s, err := New(Options{Listen: "127.0.0.1:8787"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host, origin, site, path string) {
		req := &http.Request{Method: http.MethodGet, Host: host, URL: &url.URL{Path: path}, Header: http.Header{}}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		name, rest := splitRoute(path)
		if strings.Contains(name, "/") || (rest != "" && !strings.HasPrefix(rest, "/")) {
			t.Fatalf("splitRoute(%q) = %q, %q", path, name, rest)
		}
		if s.checkDoor(req, true) == nil {
			h := host
			if hh, _, err := net.SplitHostPort(host); err == nil {
				h = hh
			}
			h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
			ip, err := netip.ParseAddr(h)
			if !strings.EqualFold(h, "localhost") && (err != nil || !ip.IsLoopback()) {
				t.Fatalf("the door let Host %q through", host)
			}
			if strings.EqualFold(site, "cross-site") {
				t.Fatalf("the door let a cross-site request through")
			}
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code == http.StatusOK && path != "/healthz" && path != "/status" {
			t.Fatalf("%s answered 200 with no upstream configured", path)
		}
	})
}
