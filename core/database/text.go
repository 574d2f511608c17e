package database

import (
	"strings"
	"unicode/utf8"
)

// Text makes s storable in a text column of at most maxBytes bytes on both
// dialects: invalid UTF-8 and NUL, which PostgreSQL refuses in text, become
// U+FFFD, and a cut never splits a character. Messages that come from
// outside (a plugin's or a gateway's error, a mail server's reply, a
// browser's user agent) go through it before they are stored, so a long
// message in any language cannot fail the write that records it.
func Text(s string, maxBytes int) string {
	s = Clean(s)
	if len(s) <= maxBytes {
		return s
	}
	n := max(maxBytes, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Clean replaces what PostgreSQL refuses in text, invalid UTF-8 and NUL,
// with U+FFFD, for text bounded otherwise (the scheduler keeps a script's
// last bytes, not its first).
func Clean(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
