package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/billing/payments/paymentstest"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
)

// createPaidService inserts an active USD service of the account whose
// paid term runs from ten days ago to twenty days ahead.
func createPaidService(t *testing.T, db *database.DB, accountID string) string {
	t.Helper()
	ctx, now := context.Background(), time.Now().UTC()
	plan, err := catalogtest.PlanOf(ctx, db, catalogtest.PlanSpec{Name: "VPS", ServiceType: "vps", Currency: "USD", Plugin: "test", MonthlyPrice: 3000})
	if err != nil {
		t.Fatal(err)
	}
	start, end := now.AddDate(0, 0, -10), now.AddDate(0, 0, 20)
	id, err := billingtest.Service(ctx, db, billingtest.ServiceSpec{
		AccountID: accountID, PlanID: plan, Currency: "USD", Price: 3000, Label: "web-1", PeriodStart: &start, PeriodEnd: &end, CreatedAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestTransfersOverTheAPI: through the public API (every response checked
// against the OpenAPI document) an owner asks to move a service to
// another customer by email, the receiver accepts it, staff approve it
// from the queue, and the service is the receiver's; a third account
// neither sees nor acts on the transfer (404); a refusal is 422 naming the
// field; approving again changes nothing.
func TestTransfersOverTheAPI(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		sender, receiver, third := tb.newUser(t, "sender"), tb.newUser(t, "receiver"), tb.newUser(t, "third")
		staff := tb.newStaff(t, "admin")
		svc := createPaidService(t, tb.app.DB, sender.AccountID)
		c := tb.client
		from, to := "/api/v1/accounts/"+sender.AccountID, "/api/v1/accounts/"+receiver.AccountID

		// The receiver has no saved card yet: refused, naming email.
		prob := c.do("POST", from+"/transfers", sender.Token, map[string]any{"service_id": svc, "email": receiver.Email}).
			wantProblem(t, http.StatusUnprocessableEntity, "no_payment_method")
		if len(prob.Errors) != 1 || prob.Errors[0].Field != "email" {
			t.Errorf("refusal errors: %+v", prob.Errors)
		}
		if _, err := paymentstest.SavedCard(context.Background(), tb.app.DB, receiver.AccountID); err != nil {
			t.Fatal(err)
		}

		var tr httpapi.TransferView
		c.do("POST", from+"/transfers", sender.Token, map[string]any{"service_id": svc, "email": receiver.Email, "note": "yours now"}, "Idempotency-Key", "t1").
			want(t, http.StatusCreated).decode(t, &tr)
		if tr.Status != "pending" || tr.Direction != "outgoing" || tr.ToAccountID != receiver.AccountID {
			t.Fatalf("requested: %+v", tr)
		}
		// A third account: not in its list, 404 on its paths and on theirs.
		third3 := "/api/v1/accounts/" + third.AccountID
		c.do("GET", third3+"/transfers/"+tr.ID, third.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		c.do("POST", third3+"/transfers/"+tr.ID+"/accept", third.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		c.do("GET", to+"/transfers/"+tr.ID, third.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		var page httpapi.List[httpapi.TransferView]
		c.do("GET", third3+"/transfers", third.Token, nil).want(t, http.StatusOK).decode(t, &page)
		if len(page.Data) != 0 {
			t.Errorf("the third account lists %d transfers", len(page.Data))
		}
		// The sender cannot accept its own request.
		c.do("POST", from+"/transfers/"+tr.ID+"/accept", sender.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")

		c.do("GET", to+"/transfers?direction=incoming&status=pending", receiver.Token, nil).want(t, http.StatusOK).decode(t, &page)
		if len(page.Data) != 1 || page.Data[0].Direction != "incoming" || page.Data[0].Note != "yours now" {
			t.Fatalf("incoming: %+v", page.Data)
		}
		c.do("POST", to+"/transfers/"+tr.ID+"/accept", receiver.Token, nil, "Idempotency-Key", "a1").want(t, http.StatusOK).decode(t, &tr)
		if tr.Status != "accepted" {
			t.Fatalf("accepted: %+v", tr)
		}
		c.do("GET", "/api/v1/admin/transfers?status=accepted", staff.Token, nil).want(t, http.StatusOK).decode(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != tr.ID {
			t.Fatalf("staff queue: %+v", page.Data)
		}
		c.do("POST", "/api/v1/admin/transfers/"+tr.ID+"/approve", staff.Token, nil, "Idempotency-Key", "ap1").want(t, http.StatusOK).decode(t, &tr)
		if tr.Status != "completed" || tr.Prorated <= 0 || tr.ReceiverInvoiceID == "" {
			t.Fatalf("approved: %+v", tr)
		}
		c.do("POST", "/api/v1/admin/transfers/"+tr.ID+"/approve", staff.Token, nil, "Idempotency-Key", "ap2").want(t, http.StatusOK).decode(t, &tr)
		es, err := tb.app.Billing.Ledger().Entries(context.Background(), sender.AccountID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		credits := 0
		for _, e := range es {
			if e.IdempotencyKey != nil && *e.IdempotencyKey == "transfer:"+tr.ID {
				credits++
			}
		}
		if n := credits; n != 1 {
			t.Errorf("%d credits to the sender, want 1", n)
		}
		c.do("GET", to+"/services/"+svc, receiver.Token, nil).want(t, http.StatusOK)
		c.do("GET", from+"/services/"+svc, sender.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		c.do("POST", from+"/transfers/"+tr.ID+"/cancel", sender.Token, nil).wantProblem(t, http.StatusConflict, "transfer_completed")
	})
}

// TestTransfersRoutesAreDocumented: every route of the module is in the
// OpenAPI document.
func TestTransfersRoutesAreDocumented(t *testing.T) {
	t.Parallel()
	doc, _, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.New(httpapi.Deps{}, httpapi.Options{}, &httpapi.TransfersAPI{})
	for _, rt := range srv.Routes() {
		item := doc.Paths.Find(rt.Path)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s %s is not in the OpenAPI document", rt.Method, rt.Path)
		}
	}
}
