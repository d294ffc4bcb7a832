// Package providers holds what differs between LLM subscriptions: OAuth
// endpoints, client ids, scopes, body formats, how to read the account, the
// API base and the headers a proxied request needs, and how to import the
// official CLIs' credential files. It is data plus small hooks on package
// auth's machinery; it never runs a flow of its own and never draws a screen.
//
// Each built-in (claude, codex, copilot) is one descriptor in its own file
// — its OAuth client, flows, hooks, API format, `env` variables, usage
// endpoint, importer and quota family — listed once in builtins. A
// Registry builds them from Specs (the overrides the config converts its
// tables to) together with generic OIDC providers, checking every Spec
// by one set of rules. A *Provider is everything the rest of the program
// needs: OAuthConfig for logins, Refresh as the lifecycle's Refresher,
// Env for `env`, and BaseURL/Decorate/ErrorFormat as the proxy's Target.
//
// What it deliberately does not do: rewrite request bodies or system
// prompts, add billing or metadata blocks, or set User-Agent or Claude
// Code's identity headers (X-App, X-Stainless-*). Decorate only swaps the
// client's credentials for the subscription token and adds the headers a
// provider requires to accept that token. Each provider's terms apply.
package providers
