// Package quotawatch keeps the latest quota of every provider and account:
// it merges what the proxy reads from responses and what the usage
// endpoints answer, window by window, into one snapshot each, and keeps it
// in a Store (the usage ledger) so that serve, the dashboard and any CLI
// process see the same numbers, also after a restart.
//
// It reads no header and parses no body itself (package quota does), and it
// draws nothing.
package quotawatch
