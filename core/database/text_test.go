package database_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

func TestTextIsStorableAndCutOnACharacter(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"short", "disk full", 500, "disk full"},
		{"cut", "abcdef", 4, "abcd"},
		{"cut before a two-byte character", "abcé", 4, "abc"},
		{"cut after it", "abcé", 5, "abcé"},
		{"cut inside a three-byte character", "ab…", 3, "ab"},
		{"NUL", "a\x00b", 500, "a\uFFFDb"},
		{"invalid UTF-8", "a\xc3(b", 500, "a\uFFFD(b"},
		{"nothing fits", "é", 1, ""},
	} {
		if got := database.Text(tc.in, tc.max); got != tc.want {
			t.Errorf("%s: Text(%q, %d) = %q, want %q", tc.name, tc.in, tc.max, got, tc.want)
		}
	}
}

// TestTextStoresOnBothDialects: a message cut at its limit and carrying a
// NUL is written to a text column of each dialect as it is returned.
func TestTextStoresOnBothDialects(t *testing.T) {
	t.Parallel()
	msg := "backend said: \x00" + strings.Repeat("a", 484) + "ééé"
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		stored := database.Text(msg, 500)
		var got string
		if err := db.NewRaw("SELECT ?", stored).Scan(t.Context(), &got); err != nil {
			t.Fatalf("storing %d bytes: %v", len(stored), err)
		}
		if got != stored {
			t.Errorf("read back %q, want %q", got, stored)
		}
	})
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"", "disk full", "a\x00b", "ab…", "\xff\xfe", strings.Repeat("é", 300)} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = n % 1024
		if n < 0 {
			n = -n
		}
		got := database.Text(s, n)
		if len(got) > n || !utf8.ValidString(got) || strings.ContainsRune(got, 0) {
			t.Fatalf("Text(%q, %d) = %q: longer than the limit, invalid UTF-8 or with a NUL", s, n, got)
		}
		if utf8.ValidString(s) && !strings.ContainsRune(s, 0) && !strings.HasPrefix(s, got) {
			t.Fatalf("Text(%q, %d) = %q is not a prefix of clean input", s, n, got)
		}
	})
}
