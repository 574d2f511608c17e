package testkit

import (
	"errors"
	"testing"

	"github.com/ezscale/platform/core/apperr"
)

// AppErr fails the test unless err is an application error (*apperr.Error)
// of code and, when reason is not "", of that reason; it returns the error
// so the test can check its fields.
func AppErr(t testing.TB, err error, code apperr.Code, reason string) *apperr.Error {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want %s/%s", err, code, reason)
		return nil
	}
	if e.Code != code || (reason != "" && e.Reason != reason) {
		t.Fatalf("error %s/%s (%v), want %s/%s", e.Code, e.Reason, e, code, reason)
	}
	return e
}
