// Package demo assembles `ccproxy-tui --demo`: the real program (internal/app)
// wired to loopback fakes — internal/fake's OAuth servers and a fake
// upstream API — with a memory store, so a new user can watch countdowns,
// automatic refreshes, logins and the proxy within a minute. It never reads
// or writes the user's credentials or config and contacts no real host.
package demo
