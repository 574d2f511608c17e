package virtfusionapi

import "regexp"

// capacityRe matches VirtFusion's answers to a server that no hypervisor
// of the group can take: the 422 validation list of POST /servers says so
// in prose (e.g. "No hypervisor in the selected group has enough free
// resources."), as it does for an exhausted IP pool. The wording is not
// documented, so the match is on the shortage's words, not one sentence.
var capacityRe = regexp.MustCompile(`(?i)\bno (suitable |available )?hypervisors?\b|not enough (free )?(resources|capacity|memory|storage)|enough free resources|insufficient (free )?(resources|capacity)|no (free |available )?ip(v4|v6)? (addresses|address|blocks?)( are)? available|ip (address )?pool is (exhausted|full)`)

// isCapacity reports whether an error answer is a capacity shortage.
func isCapacity(e *Error) bool {
	if e.StatusCode != 400 && e.StatusCode != 422 && e.StatusCode < 500 {
		return false // only a refusal of the request or a failure can say it
	}
	for _, m := range append([]string{e.Message}, e.Messages...) {
		if capacityRe.MatchString(m) {
			return true
		}
	}
	return false
}

// IsCapacity reports whether err is VirtFusion saying no hypervisor (or
// address pool) has room for the server.
func IsCapacity(err error) bool {
	e, ok := AsError(err)
	return ok && e.Capacity
}
