// Package accounts keeps several logins of one provider apart: which
// accounts a provider has in the credentials store, which one is active
// (one small record per provider, shared by every process), the store view
// that gives each account's auth.Manager its own record, and the one-time
// move of the released layout (one record per provider) into an account.
//
// It does not refresh, route or print anything: each account's token
// lifecycle is an ordinary auth.Manager over View, and choosing an account
// for a request is the caller's business.
package accounts
