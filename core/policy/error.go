package policy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/file"
)

// Error is a problem with a rule, found when compiling it or, for the few
// failures only the data can reveal (a division by zero, an index out of
// range, an input over its size limit), when evaluating it.
//
// Line and Column are 1-based; Column counts characters (runes), not bytes.
// Snippet is the offending source line followed by a caret line under
// Column; it is empty when the error has no position in the source (an
// input over its size limit).
type Error struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Snippet string `json:"snippet,omitempty"`
	Msg     string `json:"message"`
}

// Error returns "line:column: message" on one line; Format adds the snippet.
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg)
}

// Format returns the message with the snippet under it, for terminals and
// golden files.
func (e *Error) Format() string {
	if e.Snippet == "" {
		return e.Error()
	}
	return e.Error() + "\n" + e.Snippet
}

// errorAt returns an Error for the rune offset pos (0-based) of src.
func errorAt(src string, pos int, format string, args ...any) *Error {
	line, col, text := locate(src, pos)
	return &Error{Line: line, Column: col, Snippet: snippet(text, col), Msg: fmt.Sprintf(format, args...)}
}

// errorAtByte is errorAt for a byte offset.
func errorAtByte(src string, off int, format string, args ...any) *Error {
	off = min(off, len(src))
	return errorAt(src, utf8.RuneCountInString(src[:off]), format, args...)
}

// fromExpr converts an error of the expr library (a *file.Error bound to the
// source, for every parse, check and run failure) into an Error.
func fromExpr(src string, err error) *Error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &Error{Msg: err.Error()}
	}
	msg := fe.Message
	if strings.Contains(msg, "exceeds maximum allowed nodes") {
		msg = "the expression has too many nodes"
	}
	// Go type names mean nothing to a rule's author.
	if m := noField.FindStringSubmatch(msg); m != nil {
		msg = "unknown field " + m[1]
	}
	return errorAt(src, fe.From, "%s", msg)
}

var noField = regexp.MustCompile(`^type \S+ has no field (\S+)$`)

// locate returns the 1-based line and column of the rune offset pos and the
// text of that line. A position past the end points just after the last
// character.
func locate(src string, pos int) (line, col int, text string) {
	line, col = 1, 1
	start, runes := 0, 0
	for i, r := range src {
		if runes == pos {
			break
		}
		runes++
		if r == '\n' {
			line++
			col = 1
			start = i + 1
		} else {
			col++
		}
	}
	end := strings.IndexByte(src[start:], '\n')
	if end < 0 {
		end = len(src) - start
	}
	return line, col, src[start : start+end]
}

// snippetWidth is the most characters of a source line a snippet shows; a
// longer line is cut to a window around the caret.
const snippetWidth = 72

// snippet renders a source line and a caret under column col.
func snippet(text string, col int) string {
	line := []rune(strings.ReplaceAll(strings.TrimRight(text, "\r"), "\t", " "))
	caret := col - 1
	if len(line) > snippetWidth {
		from := max(0, min(caret-snippetWidth/2, len(line)-snippetWidth))
		to := min(len(line), from+snippetWidth)
		cut := string(line[from:to])
		if from > 0 {
			cut = "…" + cut
			caret = caret - from + 1
		}
		if to < len(line) {
			cut += "…"
		}
		line = []rune(cut)
	}
	return " | " + string(line) + "\n | " + strings.Repeat(" ", caret) + "^"
}
