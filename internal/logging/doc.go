// Package logging builds the program's slog logger: a handler that redacts
// secrets as a backstop, and the private log file under $XDG_STATE_HOME (the
// dashboard owns the terminal, so logs go to a file).
//
// Redaction is the last line of defence, not the first: code must still log
// masked previews (auth.MaskAccess) rather than tokens. It does not try to
// find secrets in arbitrary binary data or in values it cannot see as text.
package logging
