package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
)

// TestConcurrentAuditedRequestsFormOneChain: 100 state changes at once
// append 100 events to one gap-free, valid hash chain.
func TestConcurrentAuditedRequestsFormOneChain(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, dbURL string) {
		tb := startApp(t, d, dbURL)
		u := tb.newUser(t, "chain")
		const n = 100
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := tb.client.do("POST", "/api/v1/me/tokens", u.Token, map[string]any{"name": fmt.Sprintf("t%03d", i), "scopes": []string{"account:read"}})
				if r.Status != http.StatusCreated {
					t.Errorf("request %d: status %d: %s", i, r.Status, r.Body)
				}
			})
		}
		wg.Wait()

		rep, err := audit.Verify(context.Background(), tb.app.DB)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK {
			t.Fatalf("chain broken at %d: %s", rep.BadSeq, rep.Problem)
		}
		if rep.Checked < n+2 || rep.LastSeq != rep.Checked {
			t.Errorf("verified %d events ending at seq %d, want at least %d contiguous", rep.Checked, rep.LastSeq, n+2)
		}
		if got := tb.count(t, "audit_events", "action = ? AND actor_id = ?", "api_token.create", u.ID); got != n {
			t.Errorf("%d api_token.create events, want %d", got, n)
		}
	})
}

// TestAuditEventsAPI: failed logins are audited with their reason, and the
// admin list filters and pages them.
func TestAuditEventsAPI(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, dbURL string) {
		tb := startApp(t, d, dbURL)
		u := tb.newUser(t, "audited")
		admin := tb.newStaff(t, accounts.StaffAdmin)
		for range 3 {
			tb.client.do("POST", "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": "wrong password!"}, "User-Agent", "brute/1.0").
				wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		}

		q := url.Values{"action": {"auth.login"}, "result": {"failure"}, "limit": {"2"}}
		var page httpapi.List[httpapi.AuditEventView]
		tb.client.do("GET", "/api/v1/admin/audit-events?"+q.Encode(), admin.Token, nil).want(t, http.StatusOK).decode(t, &page)
		if len(page.Data) != 2 || page.NextCursor == "" {
			t.Fatalf("first page: %d events, cursor %q", len(page.Data), page.NextCursor)
		}
		events := page.Data
		q.Set("cursor", page.NextCursor)
		page = httpapi.List[httpapi.AuditEventView]{}
		tb.client.do("GET", "/api/v1/admin/audit-events?"+q.Encode(), admin.Token, nil).want(t, http.StatusOK).decode(t, &page)
		events = append(events, page.Data...)
		if len(events) != 3 || page.NextCursor != "" {
			t.Fatalf("%d failed logins listed (last cursor %q), want 3", len(events), page.NextCursor)
		}
		for i, e := range events {
			if e.TargetID != u.ID || e.ActorType != audit.ActorUser || e.Changes["reason"] != "bad_password" ||
				e.IP != "127.0.0.1" || e.UserAgent != "brute/1.0" || e.RequestID == "" {
				t.Errorf("event %d = %+v", i, e)
			}
			if i > 0 && e.Seq >= events[i-1].Seq {
				t.Errorf("events not newest first: %d after %d", e.Seq, events[i-1].Seq)
			}
		}

		// A prefix filter, and a bad filter value.
		page = httpapi.List[httpapi.AuditEventView]{}
		tb.client.do("GET", "/api/v1/admin/audit-events?action=auth.&limit=200", admin.Token, nil).want(t, http.StatusOK).decode(t, &page)
		for _, e := range page.Data {
			if e.Action[:5] != "auth." {
				t.Errorf("prefix filter returned %s", e.Action)
			}
		}
		tb.client.do("GET", "/api/v1/admin/audit-events?since=yesterday", admin.Token, nil).wantProblem(t, http.StatusBadRequest, "invalid")
	})
}

// TestInvalidTokensAreLimited: refused bearer tokens from one address are
// answered 401 and audited up to auth.invalid_token_limit, then 429 with
// Retry-After, audited once for the crossing and not again; a public route
// still ignores a stale token, and a valid token from the same address
// still works (customers behind one NAT are not locked out by a guesser).
func TestInvalidTokensAreLimited(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, dbURL string) {
		tb := startAppAt(t, d, dbURL, windowClock(), func(c *config.Config) { c.Auth.InvalidTokenLimit = 3 })
		u := tb.newUser(t, "tokens")
		for i := range 3 {
			tb.client.do("GET", "/api/v1/me", fmt.Sprintf("ezs_sess_guess%d", i), nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		}
		for i := range 3 {
			r := tb.client.do("GET", "/api/v1/me", fmt.Sprintf("ezs_sess_more%d", i), nil)
			r.wantProblem(t, http.StatusTooManyRequests, "rate_limited")
			if r.Header.Get("Retry-After") == "" {
				t.Errorf("429 %d without Retry-After", i)
			}
		}
		if got := tb.count(t, "audit_events", "action = ?", "auth.token"); got != 4 {
			t.Errorf("%d auth.token events, want 3 refusals and 1 crossing", got)
		}
		if got := tb.count(t, "audit_events", "action = ? AND changes LIKE ?", "auth.token", "%invalid_token_limit%"); got != 1 {
			t.Errorf("%d crossing events, want 1", got)
		}
		tb.client.do("GET", "/api/v1/plans", "ezs_sess_stale", nil).want(t, http.StatusOK)
		tb.client.do("GET", "/api/v1/me", u.Token, nil).want(t, http.StatusOK)
	})
}
