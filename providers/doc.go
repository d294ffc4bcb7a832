// Package providers holds what differs between LLM subscriptions: OAuth
// endpoints, client ids, scopes, body formats, how to read the account, the
// API base and the headers a proxied request needs, and how to import the
// official CLIs' credential files. It is data plus small hooks on package
// auth's machinery; it never runs a flow of its own and never draws a screen.
package providers
