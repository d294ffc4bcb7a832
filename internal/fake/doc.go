// Package fake runs loopback stand-ins for OAuth servers and provider APIs,
// for tests and for `ccproxy-tui --demo`. It never talks to a real host and
// imports no testing packages, so the binary can use it.
//
// OAuthServer is a complete OAuth 2.0 + OIDC provider on 127.0.0.1:
//
//	srv := fake.NewOAuthServer(fake.WithClock(clock), fake.WithClientID("cli"))
//	defer srv.Close()
//	cfg := auth.Config{Provider: "demo", ClientID: "cli", AuthURL: srv.AuthURL(),
//		TokenURL: srv.TokenURL(), DeviceURL: srv.DeviceURL(), Scopes: []string{"openid"}}
//
// What it does:
//   - GET /authorize redirects to redirect_uri with code and state (PKCE S256
//     required). WithManualApproval holds the request until
//     ReleaseAuthorize(true|false); WithAuthorizeError answers with an error.
//   - POST /token takes form or JSON bodies (client_id also via Basic auth):
//     authorization_code (checks redirect_uri, client and the S256 verifier:
//     a wrong one is invalid_grant; a code is spent by any attempt),
//     refresh_token (single-use rotating tokens: a used one is invalid_grant;
//     WithoutRotation keeps the old one and omits refresh_token), and the
//     RFC 8628 device grant.
//   - POST /device/code issues user codes. Polls answer authorization_pending
//     until approved (automatically after one pending poll, or by
//     Approve/Deny with WithManualApproval), slow_down when polled faster than
//     the interval, expired_token after WithDeviceTTL. ScriptDevice forces the
//     answers of the next code's polls, e.g. pending, slow_down, approve.
//   - /.well-known/openid-configuration, /jwks and RS256 id_tokens (issued
//     when the scope holds "openid"; WithIdentity, WithIDTokenClaims).
//   - InjectTokenFault(FaultServerError() | FaultHTML() | FaultGarbage() |
//     FaultRateLimited("7") | FaultSlow(d), n) for the next n token calls.
//   - Counts, LastRefreshToken, IssueRefreshToken, RevokeRefreshToken and
//     ValidAccessToken for assertions and for fake upstream APIs.
//
// Lifetimes (WithAccessTTL, WithRefreshTTL, WithDeviceTTL, WithDeviceInterval) run on the
// injected clock (WithClock), so tests advance a fake clock instead of
// sleeping. All methods are safe for concurrent use.
package fake
