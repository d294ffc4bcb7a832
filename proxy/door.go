package proxy

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// The door decides who may use the proxy at all, before any route is looked
// at. In order:
//
//  1. Host must be a loopback name (localhost, 127.0.0.0/8, ::1; any port) or
//     the listen host. A page on evil.example that rebinds its DNS name to
//     127.0.0.1 still sends Host: evil.example, so it gets 403. When the
//     listen host is a wildcard (0.0.0.0) an APIKey is required by New and
//     any Host is accepted: the key is the guard, and a web page cannot know it.
//  2. A browser Origin that is not a loopback origin, or Sec-Fetch-Site:
//     cross-site, gets 403: no drive-by requests from web pages.
//  3. With an APIKey, every route except /healthz needs it (Authorization:
//     Bearer or x-api-key). /healthz stays open because it says nothing but
//     "alive"; /status needs the key because it shows accounts and token
//     previews.

// doorError is why the door refused a request.
type doorError struct {
	status int
	msg    string
}

var (
	errBadHost   = &doorError{http.StatusForbidden, "host not allowed: the proxy only answers requests addressed to loopback or its listen address"}
	errBadOrigin = &doorError{http.StatusForbidden, "cross-site browser requests are not allowed"}
	errBadKey    = &doorError{http.StatusUnauthorized, "missing or wrong proxy api key: send the [proxy] api_key as Authorization: Bearer <key> or x-api-key"}
)

// checkDoor returns nil when r may pass.
func (s *Server) checkDoor(r *http.Request, needKey bool) *doorError {
	if !s.hostAllowed(r.Host) {
		return errBadHost
	}
	if !originAllowed(r.Header) {
		return errBadOrigin
	}
	if needKey && s.hasKey && !s.keyPresented(r.Header) {
		return errBadKey
	}
	return nil
}

func (s *Server) hostAllowed(hostport string) bool {
	if s.wildcard && s.hasKey {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if host == "" {
		return false
	}
	return isLoopbackHost(host) || strings.EqualFold(host, s.listenHost)
}

// originAllowed reports whether the browser metadata, if any, shows a
// same-machine origin. Non-browser clients send neither header.
func originAllowed(h http.Header) bool {
	if h.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	origin := h.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false // includes the opaque "null" origin of sandboxed pages
	}
	return isLoopbackHost(u.Hostname())
}

// keyPresented compares the client's key with the configured one in
// constant time; hashing first hides the key's length too.
func (s *Server) keyPresented(h http.Header) bool {
	if k := h.Get("X-Api-Key"); k != "" && s.keyMatches(k) {
		return true
	}
	const bearer = "Bearer "
	a := h.Get("Authorization")
	return len(a) > len(bearer) && strings.EqualFold(a[:len(bearer)], bearer) && s.keyMatches(a[len(bearer):])
}

func (s *Server) keyMatches(k string) bool {
	sum := hashKey(k)
	return subtle.ConstantTimeCompare(sum[:], s.keyHash[:]) == 1
}

func hashKey(k string) [32]byte { return sha256.Sum256([]byte(k)) }

// isLoopbackHost reports whether host (no port, no brackets) names this
// machine's loopback interface.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host) // unlike net.ParseIP, no allocation
	return err == nil && ip.IsLoopback()
}
