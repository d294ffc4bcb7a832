package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
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

// LevelEnv names the environment variable that sets the log file's level
// (debug, info, warn, error), for every command and the dashboard alike.
const LevelEnv = "CCPROXY_TUI_LOG_LEVEL"

// ParseLevel reads a level as LevelEnv and serve --log-level spell it; ""
// is info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}
