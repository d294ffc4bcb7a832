package logging

import (
	"io"
	"log/slog"
)

// Options choose the log's format and verbosity.
type Options struct {
	// Level is the minimum level written; nil means slog.LevelInfo.
	Level slog.Leveler
	// JSON writes one JSON object per line instead of logfmt-style text.
	JSON bool
}

// New returns a logger writing to w through the redacting handler; it is
// the only way the program should build a logger.
func New(w io.Writer, opts Options) *slog.Logger {
	hopts := &slog.HandlerOptions{Level: opts.Level}
	var h slog.Handler
	if opts.JSON {
		h = slog.NewJSONHandler(w, hopts)
	} else {
		h = slog.NewTextHandler(w, hopts)
	}
	return slog.New(Redact(h))
}
