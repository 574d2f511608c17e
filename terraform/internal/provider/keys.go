package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// orderKey derives the Idempotency-Key of a create from what is created:
// the kind, the account, the request body, and the ordinal of that exact
// request among those this provider process has made. A terraform apply
// that dies after the API created something but before the state was
// written sends the same requests again when retried, so each gets the key
// of its first attempt and the API answers with what it created then
// (keys are kept 24 hours) instead of ordering twice. Two resources of the
// same configuration are interchangeable, so which of them gets which
// ordinal does not matter.
func orderKey(kind, account string, body any, p *providerData) string {
	b, err := json.Marshal(body) // maps marshal with sorted keys
	if err != nil {
		panic(err) // bodies are plain data
	}
	sum := sha256.Sum256([]byte(kind + "\x00" + account + "\x00" + string(b)))
	fp := hex.EncodeToString(sum[:16])
	return fmt.Sprintf("tf-%s-%s-%d", kind, fp, p.nextOrdinal(fp))
}
