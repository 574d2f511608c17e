package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// TestUnstorableTextIsRefusedNot500: PostgreSQL text holds neither NUL nor
// invalid UTF-8, so such bytes from a client must be refused (or cleaned)
// before any query sees them, never end as a 500.
func TestUnstorableTextIsRefusedNot500(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.newUser(t, "text")

		for _, c := range []string{"AA", "_w", "YQBi"} { // "\x00", "\xff", "a\x00b"
			tb.client.do("GET", "/api/v1/me/tokens?cursor="+c, u.Token, nil).wantProblem(t, http.StatusBadRequest, "invalid")
		}
		for _, id := range []string{"%00", "%FF", "a%00b"} {
			tb.client.do("GET", "/api/v1/accounts/"+id, u.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		}
		tb.client.do("POST", "/api/v1/me/tokens", u.Token, map[string]any{"name": "x", "scopes": []string{"account:read"}}, "Idempotency-Key", "k\xff").
			wantProblem(t, http.StatusBadRequest, "invalid")
		tb.client.do("POST", "/api/v1/me/tokens", u.Token, map[string]any{"name": "x\u0000", "scopes": []string{"account:read"}}).
			wantProblem(t, http.StatusBadRequest, "invalid")

		admin := tb.newStaff(t, "admin")
		tb.client.do("GET", "/api/v1/admin/audit-events?action=a%00", admin.Token, nil).wantProblem(t, http.StatusBadRequest, "invalid")
		tb.client.do("GET", "/api/v1/admin/audit-events?target_id=%FF", admin.Token, nil).wantProblem(t, http.StatusBadRequest, "invalid")

		// A user agent is stored (sessions, audit): cleaned and cut on a
		// rune boundary, not refused.
		ua := "agent\xff/" + strings.Repeat("é", 400)
		tb.client.do("POST", "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": u.Password}, "User-Agent", ua).want(t, http.StatusOK)
		var stored []string
		if err := tb.app.DB.NewSelect().Table("api_tokens").Column("user_agent").Where("user_id = ?", u.ID).Scan(context.Background(), &stored); err != nil {
			t.Fatal(err)
		}
		for _, s := range stored {
			if !utf8.ValidString(s) || len(s) > 300 {
				t.Errorf("stored user agent %q (%d bytes)", s, len(s))
			}
		}
	})
}
