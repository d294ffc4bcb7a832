// Package proxy is the embedded HTTP server that puts a provider's token on
// each request: /<provider>/<path> goes to the provider's API with the
// client's own credentials removed. It streams, retries once on 401 after a
// forced refresh, and refuses anyone but its user. It knows nothing of the
// dashboard.
package proxy
