package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// TestIdempotencyKeyDoesNotCrossCallers: another customer who sends A's
// Idempotency-Key and body to A's account gets the 404 of an account that
// is not theirs, never A's stored response; and what they send under a key
// is not stored for A, who still runs the request with that key afterwards.
func TestIdempotencyKeyDoesNotCrossCallers(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		alice := tb.newUser(t, "alice")
		mallory := tb.newUser(t, "mallory")
		path := "/api/v1/accounts/" + alice.AccountID + "/maintenance-windows"
		body := map[string]any{"name": "nightly", "start": "02:00", "duration_minutes": 60}

		created := tb.client.do("POST", path, alice.Token, body, "Idempotency-Key", "window-1").want(t, http.StatusCreated)
		// Replay: A's own retry gets A's response.
		tb.client.do("POST", path, alice.Token, body, "Idempotency-Key", "window-1").want(t, http.StatusCreated)

		// B with A's key and body: the account is not B's.
		stolen := tb.client.do("POST", path, mallory.Token, body, "Idempotency-Key", "window-1")
		stolen.wantProblem(t, http.StatusNotFound, "not_found")
		if stolen.Header.Get("Idempotent-Replayed") != "" || string(stolen.Body) == string(created.Body) {
			t.Fatalf("another customer got the stored response: %s", stolen.Body)
		}

		// B poisons a key A will use: refused, and not kept for A.
		tb.client.do("POST", path, mallory.Token, body, "Idempotency-Key", "window-2").wantProblem(t, http.StatusNotFound, "not_found")
		tb.client.do("POST", path, mallory.Token, map[string]any{"name": "other"}, "Idempotency-Key", "window-3").wantProblem(t, http.StatusNotFound, "not_found")
		first := tb.client.do("POST", path, alice.Token, body, "Idempotency-Key", "window-2").want(t, http.StatusCreated)
		if first.Header.Get("Idempotent-Replayed") != "" {
			t.Error("A's first request with the key was answered from storage")
		}
		tb.client.do("POST", path, alice.Token, body, "Idempotency-Key", "window-3").want(t, http.StatusCreated)

		// A member whose role may not make the change is refused before
		// the key is looked at, and the refusal is not stored either.
		viewer := tb.newUser(t, "viewer")
		tb.addMember(t, alice.AccountID, viewer.ID, accounts.RoleReadOnly)
		tb.client.do("POST", path, viewer.Token, body, "Idempotency-Key", "window-1").wantProblem(t, http.StatusForbidden, "role_forbidden")
		tb.client.do("POST", path, viewer.Token, body, "Idempotency-Key", "window-4").wantProblem(t, http.StatusForbidden, "role_forbidden")
		tb.client.do("POST", path, alice.Token, body, "Idempotency-Key", "window-4").want(t, http.StatusCreated)
		// So is a staff user below the route's staff role.
		support := tb.newStaff(t, accounts.StaffSupport)
		tb.client.do("POST", path, support.Token, body, "Idempotency-Key", "window-5").wantProblem(t, http.StatusForbidden, "role_forbidden")
		tb.client.do("POST", path, alice.Token, body, "Idempotency-Key", "window-5").want(t, http.StatusCreated)

		if n := tb.count(t, "idempotency_keys", "status >= 400"); n != 0 {
			t.Errorf("%d refusals stored under an Idempotency-Key, want 0", n)
		}
		if n := tb.count(t, "maintenance_windows", "account_id = ?", alice.AccountID); n != 5 {
			t.Errorf("%d windows, want 5 (window-1 once, window-2 to window-5 by A)", n)
		}
	})
}
