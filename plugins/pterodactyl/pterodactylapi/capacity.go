package pterodactylapi

import "strings"

// Codes of the panel's automatic-deployment exceptions: no node in the
// requested locations has room for the limits, or no node has a free
// allocation in the port range. Both are a 400 DisplayException.
const (
	CodeNoViableNode       = "NoViableNodeException"
	CodeNoViableAllocation = "NoViableAllocationException"
)

// capacityPhrases are the panel's messages for the same shortages
// (lang/en/exceptions.php, deployment.no_viable_nodes and
// no_viable_allocations), matched when the code is missing (a proxy or
// an older panel that rewrote the body).
var capacityPhrases = []string{
	"no allocations satisfying the requirements",
	"no nodes satisfying the requirements",
}

// isCapacity reports whether an error answer is a capacity shortage.
func isCapacity(e *Error) bool {
	if e.Code == CodeNoViableNode || e.Code == CodeNoViableAllocation {
		return true
	}
	for _, m := range append([]string{e.Message}, e.Messages...) {
		m = strings.ToLower(m)
		for _, p := range capacityPhrases {
			if strings.Contains(m, p) {
				return true
			}
		}
	}
	return false
}

// IsCapacity reports whether err is the panel saying it has no room for
// the server (no viable node or allocation).
func IsCapacity(err error) bool {
	e, ok := AsError(err)
	return ok && e.Capacity
}
