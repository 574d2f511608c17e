package billing

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// optionKeyRe is what a customer's option key may be: a lower-case name
// of letters, digits, dashes and underscores.
var optionKeyRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Services keep their options and attributes as JSON objects of strings.

func decodeOptions(s string) map[string]string {
	m := map[string]string{}
	_ = json.Unmarshal([]byte(s), &m)
	return m
}

func encodeJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("billing: encoding %T: %v", v, err)) // maps of strings always encode
	}
	return string(b)
}
