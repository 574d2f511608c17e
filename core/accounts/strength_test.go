package accounts

import (
	"strings"
	"testing"
)

// TestCommonPasswordsAreRefused: long-enough passwords that are common,
// keyboard walks, repeats or the user's own address are refused naming the
// field; passphrases of unrelated words are accepted.
func TestCommonPasswordsAreRefused(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{"password1234", "qwertyuiop", "iloveyou123", "Password123!", "1234567890", "aaaaaaaaaaaa", "letmein2024", "ada@example.com1"} {
		err := checkPassword("password", pw, "ada@example.com")
		if err == nil || len(err.Fields) != 1 || err.Fields[0].Field != "password" {
			t.Errorf("%q accepted (%v)", pw, err)
		}
	}
	for _, pw := range []string{"correct horse battery", "staff password for tests", "n3w-passw0rd", "Tr0ub4dor&3xx", strings.Repeat("x7#Kq", 50)} {
		if err := checkPassword("password", pw, "ada@example.com"); err != nil {
			t.Errorf("%q refused: %v", pw, err)
		}
	}
}
