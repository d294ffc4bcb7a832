// Package termsafe is the one sanitiser every string from a server, a file or
// a URL passes through before it reaches a terminal, in the command line and
// the dashboard alike. Control characters and escape sequences are shown
// escaped (`\x1b`, `\u202e`), never interpreted, so a hostile callback or
// token endpoint cannot clear the screen, write the clipboard through OSC 52
// or forge lines.
//
// It does not redact secrets (that is logging.Scrub) and does not wrap or
// truncate: layout belongs to the caller.
package termsafe
