// Package logging builds the process logger (go-hclog: JSON unless stderr is
// a terminal) and adapts it to log/slog for libraries that want one (River).
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/term"
)

// New returns the root logger. format is auto, json or text.
func New(name, level, format string, out io.Writer) hclog.Logger {
	if out == nil {
		out = os.Stderr
	}
	json := format == "json"
	if format == "auto" {
		f, ok := out.(*os.File)
		json = !ok || !term.IsTerminal(int(f.Fd()))
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:            name,
		Level:           hclog.LevelFromString(level),
		Output:          out,
		JSONFormat:      json,
		IncludeLocation: false,
	})
}

// Slog returns a slog.Logger writing through l.
func Slog(l hclog.Logger) *slog.Logger {
	return slog.New(&slogHandler{l: l})
}

// SlogMin is Slog dropping records below min unless l is at debug or
// trace: for chatty libraries (River reports job counts at info every few
// seconds) whose info lines would drown the process's own.
func SlogMin(l hclog.Logger, min slog.Level) *slog.Logger {
	if l.GetLevel() <= hclog.Debug {
		return Slog(l)
	}
	return slog.New(&slogHandler{l: l, min: min})
}

type slogHandler struct {
	l     hclog.Logger
	attrs []any
	group string
	min   slog.Level
}

func (h *slogHandler) Enabled(_ context.Context, lvl slog.Level) bool {
	return lvl >= h.min && h.l.GetLevel() <= toHCLevel(lvl)
}

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	args := append([]any{}, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		args = append(args, h.key(a.Key), a.Value.Any())
		return true
	})
	h.l.Log(toHCLevel(r.Level), r.Message, args...)
	return nil
}

func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := &slogHandler{l: h.l, group: h.group, min: h.min, attrs: append([]any{}, h.attrs...)}
	for _, a := range attrs {
		n.attrs = append(n.attrs, h.key(a.Key), a.Value.Any())
	}
	return n
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	g := name
	if h.group != "" {
		g = h.group + "." + name
	}
	return &slogHandler{l: h.l, attrs: h.attrs, group: g, min: h.min}
}

func (h *slogHandler) key(k string) string {
	if h.group == "" {
		return k
	}
	return h.group + "." + k
}

func toHCLevel(l slog.Level) hclog.Level {
	switch {
	case l >= slog.LevelError:
		return hclog.Error
	case l >= slog.LevelWarn:
		return hclog.Warn
	case l >= slog.LevelInfo:
		return hclog.Info
	default:
		return hclog.Debug
	}
}
