package billing

import "regexp"

// optionKeyRe is what a customer's option key may be: a lower-case name
// of letters, digits, dashes and underscores.
var optionKeyRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
