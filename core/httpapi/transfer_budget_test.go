package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ezscale/platform/core/billing/payments/paymentstest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
)

// TestTransferOverTheReceiversHardCapIsRefused: a receiver whose hard
// budget cap the service would exceed (its price over the monthly limit)
// cannot accept it (422 receiver_budget_stopped, naming the stop rule);
// with a higher limit it accepts; when the receiver lowers the limit
// again before staff approve, the approval is refused the same way and
// the service stays with the sender.
func TestTransferOverTheReceiversHardCapIsRefused(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		sender, receiver := tb.newUser(t, "sender"), tb.newUser(t, "receiver")
		staff := tb.newStaff(t, "admin")
		svc := createPaidService(t, tb.app.DB, sender.AccountID) // 3000 USD a month
		if _, err := paymentstest.SavedCard(context.Background(), tb.app.DB, receiver.AccountID); err != nil {
			t.Fatal(err)
		}
		c := tb.client
		from, to := "/api/v1/accounts/"+sender.AccountID, "/api/v1/accounts/"+receiver.AccountID
		budget := func(limit int64) {
			c.do("PUT", to+"/budget", receiver.Token, map[string]any{"monthly_limit": limit, "currency": "USD", "hard_stop": true}).want(t, http.StatusOK)
		}
		budget(2000)

		var tr httpapi.TransferView
		c.do("POST", from+"/transfers", sender.Token, map[string]any{"service_id": svc, "email": receiver.Email}).want(t, http.StatusCreated).decode(t, &tr)
		p := c.do("POST", to+"/transfers/"+tr.ID+"/accept", receiver.Token, nil).wantProblem(t, http.StatusUnprocessableEntity, "receiver_budget_stopped")
		if !strings.Contains(p.Detail, "spend_percent >= 100") {
			t.Errorf("the refusal does not name the stop rule: %q", p.Detail)
		}
		budget(10000)
		c.do("POST", to+"/transfers/"+tr.ID+"/accept", receiver.Token, nil).want(t, http.StatusOK).decode(t, &tr)
		if tr.Status != "accepted" {
			t.Fatalf("accepted: %+v", tr)
		}
		budget(2000)
		c.do("POST", "/api/v1/admin/transfers/"+tr.ID+"/approve", staff.Token, nil).wantProblem(t, http.StatusUnprocessableEntity, "receiver_budget_stopped")
		c.do("GET", from+"/services/"+svc, sender.Token, nil).want(t, http.StatusOK)
		budget(10000)
		c.do("POST", "/api/v1/admin/transfers/"+tr.ID+"/approve", staff.Token, nil).want(t, http.StatusOK).decode(t, &tr)
		if tr.Status != "completed" {
			t.Fatalf("approved: %+v", tr)
		}
	})
}
