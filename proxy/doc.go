// Package proxy is the embedded HTTP server that puts a provider's token on
// each request: /<provider>/<path>?<query> goes to the provider's API base
// joined with <path>, query kept, with the client's own credentials
// removed. It streams, retries once on 401 with a replaced token, and
// refuses anyone but its user. It knows nothing of the dashboard, and of
// providers only the Target and TokenSource interfaces it defines.
//
// Decisions the contract left open:
//   - No X-Forwarded-*, Forwarded or X-Real-Ip header reaches the provider:
//     it has no use for the user's local addresses. Hop-by-hop headers are
//     the standard library's business.
//   - With an api key set, /healthz stays open (it only says "ok") and
//     /status needs the key (it shows accounts and token previews). The door
//     runs before routing, so without the key even a 404 is not revealed.
//   - Host may be any loopback name or IP (any port, for port forwards) or
//     the listen host. On a wildcard listen (0.0.0.0), which requires the
//     key, any Host passes: the key is the guard and a web page cannot know it.
//   - Request bodies are read whole (up to MaxBody) before the upstream call,
//     so 413 is decided before any byte goes upstream and a 401 can be
//     replayed.
//   - A failed forced refresh answers 401 (login needed), 503 with
//     Retry-After (temporary) or 500 (misconfigured) instead of passing the
//     upstream's 401 through; a second upstream 401 passes through as is.
//   - Events and counters cover provider routes only; /healthz and /status
//     polling would otherwise flood the activity log. A client that leaves
//     before the response ends is recorded with status 499.
package proxy
