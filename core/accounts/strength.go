package accounts

import (
	"strings"

	"github.com/trustelem/zxcvbn"
)

// Password strength is judged by zxcvbn (its lists of common passwords,
// words and names, keyboard patterns, dates, repeats and sequences), not by
// length alone: "password1234" and "qwertyuiop" are long enough and still
// among the first guesses of any attacker.
const (
	// minStrength is zxcvbn's score 2: about 10^6 guesses or more, beyond
	// what the login limits let an online attacker try.
	minStrength = 2
	// strengthRunes is how much of a password is judged: zxcvbn's cost
	// grows faster than the length, and 64 characters are plenty to tell.
	strengthRunes = 64
)

// guessable reports whether pw is too easy to guess, counting the user's
// own email address (and its parts) as known to the attacker.
func guessable(pw, email string) bool {
	if r := []rune(pw); len(r) > strengthRunes {
		pw = string(r[:strengthRunes])
	}
	var inputs []string
	if email != "" {
		local, domain, _ := strings.Cut(email, "@")
		inputs = append(inputs, email, local, domain)
	}
	return zxcvbn.PasswordStrength(pw, inputs).Score < minStrength
}
