// Package fake runs loopback stand-ins for OAuth servers and provider APIs,
// for tests and for `ccproxy-tui --demo`. It never talks to a real host.
package fake
