// Package providers holds what differs between LLM subscriptions: OAuth
// endpoints, client ids, scopes, body formats, how to read the account, the
// API base and the headers a proxied request needs, and how to import the
// official CLIs' credential files. It is data plus small hooks on package
// auth's machinery; it never runs a flow of its own and never draws a screen.
//
// A Registry holds the built-ins (claude, codex, copilot) with the config's
// overrides, and generic OIDC providers from the config. A *Provider is
// everything the rest of the program needs: OAuthConfig for logins, Refresh
// as the lifecycle's Refresher, and BaseURL/Decorate/ErrorFormat as the
// proxy's Target.
//
// What it deliberately does not do: rewrite request bodies or system
// prompts, add billing or metadata blocks, or set User-Agent or Claude
// Code's identity headers (X-App, X-Stainless-*). Decorate only swaps the
// client's credentials for the subscription token and adds the headers a
// provider requires to accept that token. Each provider's terms apply.
package providers
