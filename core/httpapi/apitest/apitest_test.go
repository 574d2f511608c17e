package apitest_test

import (
	"net/http"
	"testing"

	"github.com/ezscale/platform/core/httpapi/apitest"
)

// TestValidatorCatchesMismatches proves the check every package's API tests
// use has teeth: a body that breaks the schema, a wrong content type and a
// problem without its required members are all reported, and a matching
// response is not.
func TestValidatorCatchesMismatches(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequest("GET", "http://127.0.0.1:1/api/v1/me", nil)
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	problemCT := http.Header{"Content-Type": {"application/problem+json"}}
	for name, tc := range map[string]struct {
		status int
		header http.Header
		body   string
	}{
		"wrong type":           {200, jsonCT, `{"user": 1, "accounts": [], "token": {"kind": "session", "scopes": []}}`},
		"missing member":       {200, jsonCT, `{"accounts": [], "token": {"kind": "session", "scopes": []}}`},
		"value outside enum":   {200, jsonCT, `{"user": {"id": "u", "email": "e", "email_verified": true, "totp_enabled": false, "staff_role": "king", "created_at": "2026-01-02T03:04:05Z"}, "accounts": [], "token": {"kind": "session", "scopes": []}}`},
		"wrong content type":   {401, jsonCT, `{"type": "t", "title": "t", "status": 401, "code": "c"}`},
		"problem without code": {401, problemCT, `{"type": "t", "title": "t", "status": 401}`},
	} {
		if err := apitest.Validate(req, tc.status, tc.header, []byte(tc.body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := `{"user": {"id": "u", "email": "e", "email_verified": true, "totp_enabled": false, "staff_role": null, "created_at": "2026-01-02T03:04:05Z"}, "accounts": [], "token": {"kind": "session", "scopes": []}}`
	if err := apitest.Validate(req, 200, jsonCT, []byte(ok)); err != nil {
		t.Errorf("a valid body was refused: %v", err)
	}
}
