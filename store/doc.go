// Package store keeps one private, durable blob per key (a provider, one of
// its accounts, or which account is active) and a lock that serialises
// read-modify-write cycles across goroutines and processes.
//
// It knows nothing of OAuth, providers or the dashboard: a blob is a JSON
// object whose "version" field is FormatVersion. Three backends implement
// Store: File (the default, one 0600 file per provider), Keyring (the OS
// secret service) and Memory (tests and the demo).
//
// It deliberately does not encrypt (the file backend relies on file modes,
// like ssh and gh do), migrate other versions (a newer build's record is
// reported and left alone; anything else unknown is kept aside as
// corrupt), or guess: anything it cannot trust is reported, never repaired.
package store
