// Package quota is the model of how much of a subscription is left: the
// windows a provider enforces (Anthropic's 5-hour and weekly windows, Codex's
// primary and secondary windows, Copilot's premium requests), which one binds,
// and when each resets, together with the parsers that read them from each
// provider family's rate-limit headers and usage-endpoint bodies.
//
// It does no HTTP serving, no storage and no drawing: the proxy hands it
// response headers, the ledger keeps its snapshots, the dashboard draws them.
package quota
