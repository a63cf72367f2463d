package sessionsvc

import (
	"io"
	"log/slog"
	"os"
)

// The values of server.log_format.
const (
	LogFormatAuto = "auto" // text on a terminal, JSON otherwise
	LogFormatJSON = "json"
	LogFormatText = "text"
)

// NewLogger returns the INFO-level logger the server writes to w in format
// (server.log_format). "auto" (and "") means text when isTerminal, for a
// person at a console, and JSON otherwise, for a log collector; an unknown
// format, which Validate refuses, is JSON, so a machine never gets text it
// cannot parse.
func NewLogger(w io.Writer, format string, isTerminal bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	text := format == LogFormatText || (format == LogFormatAuto || format == "") && isTerminal
	if text {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// IsTerminal reports whether f is a character device, as a terminal is. It
// needs no dependency and errs on the side of text: /dev/null is a character
// device too, where the format does not matter.
func IsTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
