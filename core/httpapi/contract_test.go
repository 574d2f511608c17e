package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

func TestUnknownFieldsAreRejected(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		// Mass assignment: a role or an account id in the body is refused,
		// naming the field, and nothing is created.
		email := uniqueEmail("mass")
		p := tb.client.do("POST", "/api/v1/auth/signup", "", raw(`{"email": "`+email+`", "password": "correct horse battery", "staff_role": "owner"}`)).
			wantProblem(t, http.StatusBadRequest, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Field != "staff_role" {
			t.Errorf("errors = %+v, want one for staff_role", p.Errors)
		}
		if n := tb.count(t, "users", "email = ?", email); n != 0 {
			t.Errorf("%d users created from a refused body", n)
		}

		u := tb.newUser(t, "strict")
		p = tb.client.do("POST", "/api/v1/me/tokens", u.Token, raw(`{"name": "t", "scopes": ["account:read"], "user_id": "someone-else"}`)).
			wantProblem(t, http.StatusBadRequest, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Field != "user_id" {
			t.Errorf("errors = %+v, want one for user_id", p.Errors)
		}

		for name, tc := range map[string]struct {
			body, code, field string
		}{
			"wrong type":    {`{"email": 5, "password": "correct horse battery"}`, "invalid", "email"},
			"malformed":     {`{"email": `, "malformed_json", ""},
			"two objects":   {`{"email": "a@example.com"} {}`, "malformed_json", ""},
			"not an object": {`["a"]`, "malformed_json", ""},
			"empty":         {``, "empty_body", ""},
			"NUL character": {`{"email": "a@example.com", "password": "correct horse battery", "account_name": "a\u0000b"}`, "invalid", "account_name"},
		} {
			var body any
			if tc.body != "" {
				body = raw(tc.body)
			}
			p := tb.client.do("POST", "/api/v1/auth/signup", "", body).wantProblem(t, http.StatusBadRequest, tc.code)
			if tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field) {
				t.Errorf("%s: errors = %+v, want one for %s", name, p.Errors, tc.field)
			}
		}
		tb.client.do("POST", "/api/v1/auth/login", "", raw(`email=a`), "Content-Type", "application/x-www-form-urlencoded").
			wantProblem(t, http.StatusBadRequest, "unsupported_media_type")
	})
}

// TestAmbiguousJSONIsRefused: a key given twice, a key that matches a
// field only case-insensitively and text that is not UTF-8 (a raw byte or a
// lone surrogate escape) are refused naming the field, where encoding/json
// alone would take the last key, match "EMAIL" to email and store U+FFFD;
// nothing is created.
func TestAmbiguousJSONIsRefused(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		email := uniqueEmail("ambiguous")
		for name, tc := range map[string]struct {
			body, field string
		}{
			"duplicate key":     {`{"email": "` + email + `", "password": "correct horse battery", "email": "x` + email + `"}`, "email"},
			"case-variant key":  {`{"EMAIL": "` + email + `", "password": "correct horse battery"}`, "EMAIL"},
			"case-variant pair": {`{"email": "` + email + `", "Email": "x` + email + `", "password": "correct horse battery"}`, "Email"},
			"lone surrogate":    {`{"email": "` + email + `", "password": "correct horse battery", "account_name": "a\ud800b"}`, "account_name"},
			"lone low half":     {`{"email": "` + email + `", "password": "correct horse battery", "account_name": "\udc00"}`, "account_name"},
			"invalid UTF-8":     {"{\"email\": \"" + email + "\", \"password\": \"correct horse \xff battery\"}", "password"},
		} {
			p := tb.client.do("POST", "/api/v1/auth/signup", "", raw(tc.body)).wantProblem(t, http.StatusBadRequest, "invalid")
			if len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
				t.Errorf("%s: errors = %+v, want one for %s", name, p.Errors, tc.field)
			}
		}
		if n := tb.count(t, "users", "email IN (?, ?)", email, "x"+email); n != 0 {
			t.Errorf("%d users created from refused bodies", n)
		}
		// A surrogate pair is one character, and is accepted.
		tb.client.do("POST", "/api/v1/auth/signup", "", raw(`{"email": "`+email+`", "password": "correct horse battery", "account_name": "Rocket \ud83d\ude80"}`)).
			want(t, http.StatusCreated)
	})
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url, func(c *config.Config) { c.Server.BodyLimit = 1024 })
		big := raw(`{"email": "big@example.com", "password": "` + strings.Repeat("x", 2048) + `"}`)
		tb.client.do("POST", "/api/v1/auth/signup", "", big).wantProblem(t, http.StatusRequestEntityTooLarge, "body_too_large")
		// With an Idempotency-Key the body is read before the handler.
		tb.client.do("POST", "/api/v1/auth/signup", "", big, "Idempotency-Key", "big-1").wantProblem(t, http.StatusRequestEntityTooLarge, "body_too_large")
		tb.client.do("POST", "/api/v1/auth/login", "", big).wantProblem(t, http.StatusRequestEntityTooLarge, "body_too_large")
		if n := tb.count(t, "users", "1 = 1"); n != 0 {
			t.Errorf("%d users created from oversized bodies", n)
		}
	})
}

// TestLoginRateLimitHoldsAcrossReplicas: the counters live in the database,
// so two replicas share them.
func TestLoginRateLimitHoldsAcrossReplicas(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		limit := func(c *config.Config) { c.Auth.LoginLimit = 3 }
		first := startApp(t, d, url, limit)
		second := first.replica(t, limit)
		u := first.signup(t, uniqueEmail("limited"), "correct horse battery")

		bad := map[string]string{"email": u.Email, "password": "wrong password!"}
		for _, tb := range []*appBundle{first, second, first} {
			tb.client.do("POST", "/api/v1/auth/login", "", bad).wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		}
		// The account is slowed down on either replica: the right password
		// alone waits (a second factor would pass; this user has none).
		for _, tb := range []*appBundle{second, first} {
			r := tb.client.do("POST", "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": u.Password})
			r.wantProblem(t, http.StatusTooManyRequests, "rate_limited")
			secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
			if err != nil || secs < 1 || time.Duration(secs)*time.Second > 15*time.Minute {
				t.Errorf("Retry-After %q, want 1s to the 15m window", r.Header.Get("Retry-After"))
			}
		}
		// Failed and refused logins are in the audit log.
		if n := first.count(t, "audit_events", "action = ? AND result = ?", "auth.login", "failure"); n != 5 {
			t.Errorf("%d failed logins audited, want 5 (3 bad passwords, 2 refused)", n)
		}
	})
}
