package stripemock_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/stripe/stripemock"
)

var (
	mock    *stripemock.Server
	mockErr error
)

func TestMain(m *testing.M) {
	mock, mockErr = stripemock.Start()
	code := m.Run()
	mock.Close()
	os.Exit(code)
}

type result struct {
	status   int
	replayed string
	body     map[string]any
}

func post(t *testing.T, base, path, key string, form url.Values) result {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Authorization", "Bearer sk_test_123")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return send(t, req)
}

func get(t *testing.T, base, path string) result {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer sk_test_123")
	return send(t, req)
}

func send(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, replayed: resp.Header.Get("Idempotent-Replayed")}
	if err := json.Unmarshal(b, &r.body); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	return r
}

func setup(t *testing.T) string {
	t.Helper()
	m := stripemock.Require(t, mock, mockErr)
	srv := httptest.NewServer(stripemock.NewTestMode(m.URL))
	t.Cleanup(srv.Close)
	return srv.URL
}

func charge(pm string) url.Values {
	return url.Values{"amount": {"1000"}, "currency": {"usd"}, "customer": {"cus_1"}, "payment_method": {pm},
		"confirm": {"true"}, "off_session": {"true"}}
}

func TestIdempotencyReplay(t *testing.T) {
	t.Parallel()
	base := setup(t)
	first := post(t, base, "/v1/payment_intents", "k1", charge("pm_card_visa"))
	again := post(t, base, "/v1/payment_intents", "k1", charge("pm_card_visa"))
	other := post(t, base, "/v1/payment_intents", "k2", charge("pm_card_visa"))
	changed := post(t, base, "/v1/payment_intents", "k1", charge("pm_card_mastercard"))

	got := []any{first.status, first.body["status"], again.replayed, again.body["id"] == first.body["id"],
		other.body["id"] == first.body["id"], changed.status}
	want := []any{200, "succeeded", "true", true, false, 400}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if e, _ := changed.body["error"].(map[string]any); e["type"] != "idempotency_error" {
		t.Errorf("changed parameters: %v", changed.body)
	}
}

func TestDeclinedTestCard(t *testing.T) {
	t.Parallel()
	base := setup(t)
	r := post(t, base, "/v1/payment_intents", "d1", charge("pm_card_chargeDeclinedInsufficientFunds"))
	e, _ := r.body["error"].(map[string]any)
	pi, _ := e["payment_intent"].(map[string]any)
	got := []any{r.status, e["type"], e["code"], e["decline_code"], pi["status"]}
	want := []any{402, "card_error", "card_declined", "insufficient_funds", "requires_payment_method"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A decline is saved like any result: the same key gets it again.
	if again := post(t, base, "/v1/payment_intents", "d1", charge("pm_card_chargeDeclinedInsufficientFunds")); again.replayed != "true" || again.status != 402 {
		t.Errorf("replayed decline: %d %q", again.status, again.replayed)
	}
}

func TestValidationErrorsAreNotSaved(t *testing.T) {
	t.Parallel()
	base := setup(t)
	bad := charge("pm_card_visa")
	bad.Set("amount", "lots")
	if r := post(t, base, "/v1/payment_intents", "v1", bad); r.status != 400 {
		t.Fatalf("stripe-mock accepted amount=lots: %d", r.status)
	}
	if r := post(t, base, "/v1/payment_intents", "v1", charge("pm_card_visa")); r.status != 200 || r.replayed != "" {
		t.Errorf("valid retry with the key of a refused request: %d replayed=%q", r.status, r.replayed)
	}
}

func TestAttachedMethodsAreListed(t *testing.T) {
	t.Parallel()
	base := setup(t)
	post(t, base, "/v1/payment_methods/pm_card_visa/attach", "", url.Values{"customer": {"cus_A"}})
	post(t, base, "/v1/payment_methods/pm_card_mastercard/attach", "", url.Values{"customer": {"cus_A"}})
	post(t, base, "/v1/customers/cus_A", "", url.Values{"invoice_settings[default_payment_method]": {"pm_card_visa"}})

	list := get(t, base, "/v1/payment_methods?customer=cus_A")
	var ids []any
	for _, pm := range list.body["data"].([]any) {
		ids = append(ids, pm.(map[string]any)["id"])
	}
	if diff := cmp.Diff([]any{"pm_card_mastercard", "pm_card_visa"}, ids); diff != "" {
		t.Errorf("listed methods (-want +got):\n%s", diff)
	}
	cus := get(t, base, "/v1/customers/cus_A")
	if def := cus.body["invoice_settings"].(map[string]any)["default_payment_method"]; def != "pm_card_visa" {
		t.Errorf("default payment method %v", def)
	}
	// Another customer still sees stripe-mock's fixture.
	if other := get(t, base, "/v1/payment_methods?customer=cus_B"); len(other.body["data"].([]any)) == 0 {
		t.Errorf("fixture list empty for another customer")
	}
}

// TestTestCardsShowTheirCard: Stripe's test payment methods carry their own
// card's brand and last four digits when attached, retrieved and listed
// (stripe-mock alone shows every card as a Visa ending in 4242).
func TestTestCardsShowTheirCard(t *testing.T) {
	t.Parallel()
	base := setup(t)
	card := func(body map[string]any) string {
		c := body["card"].(map[string]any)
		return c["brand"].(string) + " " + c["last4"].(string)
	}
	got := []string{
		card(post(t, base, "/v1/payment_methods/pm_card_mastercard/attach", "", url.Values{"customer": {"cus_C"}}).body),
		card(get(t, base, "/v1/payment_methods/pm_card_chargeDeclined").body),
		card(get(t, base, "/v1/payment_methods?customer=cus_C").body["data"].([]any)[0].(map[string]any)),
		card(get(t, base, "/v1/payment_methods/pm_1Other").body),
	}
	if diff := cmp.Diff([]string{"mastercard 4444", "visa 0002", "mastercard 4444", "visa 4242"}, got); diff != "" {
		t.Errorf("cards (-want +got):\n%s", diff)
	}
}
