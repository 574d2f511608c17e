package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// TestDatabaseOutageIs503: while PostgreSQL cannot be reached (a proxy
// the test cuts, refusing and resetting connections), data routes answer
// 503 problem+json `database_unavailable` with Retry-After, not 500, and
// the outage is one log line, not one per request; once it is back the
// same requests succeed.
func TestDatabaseOutageIs503(t *testing.T) {
	t.Parallel()
	u := databasetest.URL(t, database.Postgres)
	proxy := databasetest.NewProxy(t, u)
	tb := startApp(t, database.Postgres, proxy.URL(u), func(c *config.Config) { c.Jobs.Disabled = true })
	user := tb.newUser(t, "outage")
	tb.client.do("GET", "/api/v1/me", user.Token, nil).want(t, http.StatusOK)

	proxy.Cut()
	for range 4 {
		r := tb.client.do("GET", "/api/v1/me", user.Token, nil)
		r.wantProblem(t, http.StatusServiceUnavailable, "database_unavailable")
		if r.Header.Get("Retry-After") != "5" {
			t.Errorf("Retry-After %q, want 5", r.Header.Get("Retry-After"))
		}
	}
	logs := tb.logs.String()
	if n := strings.Count(logs, "database unreachable"); n != 1 {
		t.Errorf("%d outage log lines, want 1:\n%s", n, logs)
	}
	if strings.Contains(logs, "internal error") {
		t.Errorf("the outage was logged as internal errors:\n%s", logs)
	}
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	tb.client.do("GET", "/api/v1/me", user.Token, nil).want(t, http.StatusOK)
}
