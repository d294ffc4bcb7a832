// Package auth does OAuth for any provider: browser login (PKCE S256, state,
// loopback callback), pasted-code login, device-code login, refresh with
// rotation, the per-provider token Manager and the refresh Scheduler.
//
// It holds no provider-specific knowledge. A provider is described by a
// Config (endpoints, client id, scopes, extra parameters) and a few Hooks for
// the places where it departs from standard OAuth. Every call to a provider's
// OAuth endpoints — the hooks' too — goes through one client (client.go),
// one response parser (token.go) and one classifier (classify.go), and every
// device login through one poll loop (device.go). It never proxies HTTP and
// never draws a screen: background work is reported as Events.
package auth
