package gateway_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/stripe/gateway"
)

const emptySearch = `{"object":"search_result","data":[],"has_more":false,"next_page":null,"url":"/v1/customers/search"}`

func TestEnsureCustomerCreatesWithDerivedKey(t *testing.T) {
	t.Parallel()
	b := setup(t, gateway.Config{})
	b.proxy.answer("GET /v1/customers/search", canned{status: 200, body: emptySearch})
	b.proxy.answer("GET /v1/customers/search", canned{status: 200, body: emptySearch})

	c := gateway.Customer{AccountID: "acc_o'brien", Email: "ops@example.com", Name: "Example Hosting"}
	id1, err := b.gw.EnsureCustomer(b.ctx, c)
	if err != nil {
		t.Fatalf("EnsureCustomer: %v", err)
	}
	// Search lags creation, so a second call right after also misses it and
	// must create with the same key, which Stripe answers with the first
	// customer.
	id2, err := b.gw.EnsureCustomer(b.ctx, c)
	if err != nil {
		t.Fatalf("second EnsureCustomer: %v", err)
	}
	if !strings.HasPrefix(id1, "cus_") || id2 == "" {
		t.Errorf("ids %q %q", id1, id2)
	}

	reqs := b.proxy.recorded()
	if len(reqs) != 4 {
		t.Fatalf("got %d requests, want search+create twice: %+v", len(reqs), reqs)
	}
	if got, want := reqs[0].Query.Get("query"), `metadata['ezscale_account_id']:'acc_o\'brien'`; got != want {
		t.Errorf("search query %q, want %q", got, want)
	}
	create := reqs[1]
	got := map[string]string{
		"path":     create.Method + " " + create.Path,
		"email":    create.Form.Get("email"),
		"name":     create.Form.Get("name"),
		"metadata": create.Form.Get("metadata[ezscale_account_id]"),
	}
	want := map[string]string{"path": "POST /v1/customers", "email": c.Email, "name": c.Name, "metadata": c.AccountID}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("create request (-want +got):\n%s", diff)
	}
	key1, key2 := reqs[1].Header.Get("Idempotency-Key"), reqs[3].Header.Get("Idempotency-Key")
	if !strings.HasPrefix(key1, "ezscale:customer:") || key1 != key2 {
		t.Errorf("idempotency keys %q and %q: want equal, derived from the account", key1, key2)
	}
}

func TestEnsureCustomerFindsExisting(t *testing.T) {
	t.Parallel()
	b := setup(t, gateway.Config{})
	// stripe-mock's search always finds its fixture customer, whose email
	// and name are empty, so the gateway updates them.
	id, err := b.gw.EnsureCustomer(b.ctx, gateway.Customer{AccountID: "acc_1", Email: "new@example.com"})
	if err != nil {
		t.Fatalf("EnsureCustomer: %v", err)
	}
	reqs := b.proxy.recorded()
	var routes []string
	for _, r := range reqs {
		routes = append(routes, r.Method+" "+r.Path)
	}
	want := []string{"GET /v1/customers/search", "POST /v1/customers/" + id}
	if diff := cmp.Diff(want, routes); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if got := reqs[1].Form.Get("email"); got != "new@example.com" {
		t.Errorf("update email %q", got)
	}
}

func TestEnsureCustomerValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, gateway.Config{})
	_, err := b.gw.EnsureCustomer(b.ctx, gateway.Customer{Email: "x@example.com"})
	var ge *gateway.Error
	if !errors.As(err, &ge) || ge.Kind != gateway.InvalidInput || ge.Field != "customer.account_id" {
		t.Fatalf("got %v, want invalid customer.account_id", err)
	}
	if n := len(b.proxy.recorded()); n != 0 {
		t.Errorf("%d requests sent for an invalid call", n)
	}
}

func TestListPaymentMethods(t *testing.T) {
	t.Parallel()
	b := setup(t, gateway.Config{})
	b.proxy.answer("GET /v1/customers/cus_1", canned{status: 200, body: `{"id":"cus_1","object":"customer",
		"invoice_settings":{"default_payment_method":"pm_card"}}`})
	b.proxy.answer("GET /v1/payment_methods", canned{status: 200, body: `{"object":"list","has_more":false,"url":"/v1/payment_methods","data":[
		{"id":"pm_card","object":"payment_method","type":"card","card":{"brand":"visa","last4":"4242","exp_month":12,"exp_year":2030}},
		{"id":"pm_sepa","object":"payment_method","type":"sepa_debit","sepa_debit":{"bank_code":"37040044","last4":"3000"}}]}`})

	got, err := b.gw.ListPaymentMethods(b.ctx, "cus_1")
	if err != nil {
		t.Fatalf("ListPaymentMethods: %v", err)
	}
	want := []gateway.PaymentMethod{
		{ID: "pm_card", Type: "card", Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030, IsDefault: true},
		{ID: "pm_sepa", Type: "sepa_debit", Brand: "37040044", Last4: "3000"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if q := b.proxy.recorded()[1].Query; q.Get("customer") != "cus_1" {
		t.Errorf("list query %v", q)
	}
}

func TestListPaymentMethodsStripeMock(t *testing.T) {
	t.Parallel()
	b := setup(t, gateway.Config{})
	got, err := b.gw.ListPaymentMethods(b.ctx, "cus_1")
	if err != nil {
		t.Fatalf("ListPaymentMethods: %v", err)
	}
	if len(got) == 0 || got[0].Type != "card" || got[0].Last4 != "4242" || got[0].ExpYear == 0 {
		t.Errorf("payment methods from stripe-mock's fixture = %+v", got)
	}
}

func TestAttachPaymentMethod(t *testing.T) {
	t.Parallel()
	t.Run("payment method as default", func(t *testing.T) {
		t.Parallel()
		b := setup(t, gateway.Config{})
		pm, err := b.gw.AttachPaymentMethod(b.ctx, "attach-1", "cus_1", "pm_1", true)
		if err != nil {
			t.Fatalf("AttachPaymentMethod: %v", err)
		}
		if pm.ID != "pm_1" || !pm.IsDefault || pm.Type != "card" {
			t.Errorf("payment method = %+v", pm)
		}
		reqs := b.proxy.recorded()
		got := [][]string{}
		for _, r := range reqs {
			got = append(got, []string{r.Method + " " + r.Path, r.Header.Get("Idempotency-Key")})
		}
		want := [][]string{
			{"POST /v1/payment_methods/pm_1/attach", "ezscale:attach:attach-1"},
			{"POST /v1/customers/cus_1", "ezscale:default-pm:attach-1"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
		if v := reqs[1].Form.Get("invoice_settings[default_payment_method]"); v != "pm_1" {
			t.Errorf("default payment method param %q", v)
		}
	})
	t.Run("legacy token", func(t *testing.T) {
		t.Parallel()
		b := setup(t, gateway.Config{})
		pm, err := b.gw.AttachPaymentMethod(b.ctx, "attach-2", "cus_1", "tok_visa", false)
		if err != nil {
			t.Fatalf("AttachPaymentMethod: %v", err)
		}
		reqs := b.proxy.recorded()
		if len(reqs) != 2 || reqs[0].Path != "/v1/payment_methods" || reqs[0].Form.Get("card[token]") != "tok_visa" ||
			reqs[1].Path != "/v1/payment_methods/"+pm.ID+"/attach" || pm.IsDefault {
			t.Errorf("requests %+v, payment method %+v", reqs, pm)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		t.Parallel()
		b := setup(t, gateway.Config{})
		for _, tc := range []struct{ key, customer, token, field string }{
			{"", "cus_1", "pm_1", "idempotency_key"},
			{"k", "acc_1", "pm_1", "gateway_customer_id"},
			{"k", "cus_1", "pm_1/../../x", "payment_method_token"},
			{"k", "cus_1", "src_1", "payment_method_token"},
		} {
			_, err := b.gw.AttachPaymentMethod(b.ctx, tc.key, tc.customer, tc.token, false)
			var ge *gateway.Error
			if !errors.As(err, &ge) || ge.Kind != gateway.InvalidInput || ge.Field != tc.field {
				t.Errorf("%+v: got %v, want invalid %s", tc, err, tc.field)
			}
		}
		if n := len(b.proxy.recorded()); n != 0 {
			t.Errorf("%d requests sent for invalid calls", n)
		}
	})
}
