package stripemock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// TestMode is an http.Handler in front of a stripe-mock that adds the state
// Stripe's test mode has and stripe-mock, being stateless, lacks. stripe-mock
// still validates every request against Stripe's OpenAPI spec and shapes
// every response; TestMode only adds:
//
//   - Idempotency: a POST repeated with the same Idempotency-Key (per API
//     key) and the same parameters gets the first response again, with
//     Idempotent-Replayed: true; with other parameters, Stripe's 400
//     idempotency_error; while the first is still running, a 409. As on
//     Stripe, validation failures and conflicts are not saved.
//   - Test payment methods: confirming a PaymentIntent with one of Stripe's
//     successful test methods (pm_card_visa, pm_card_mastercard, …) succeeds,
//     and with a declining one (pm_card_chargeDeclined…,
//     pm_card_authenticationRequired) fails with Stripe's 402 card_error.
//     Other payment methods get stripe-mock's fixture unchanged. Those test
//     methods also carry their card's brand and last four digits, where
//     stripe-mock shows every card as a Visa ending in 4242.
//   - Customers' payment methods: methods attached to a customer are what
//     listing that customer's methods returns, newest first, and the default
//     set through invoice_settings is what retrieving the customer shows.
//
// It is a test double for tests that need Stripe's statefulness, such as
// the SDK's payment gateway conformance suite.
type TestMode struct {
	upstream string
	client   *http.Client

	mu       sync.Mutex
	saved    map[string]*savedResponse
	attached map[string][]string // customer → payment methods, newest first
	defaults map[string]string   // customer → default payment method
}

type savedResponse struct {
	path     string
	params   url.Values
	inFlight bool
	status   int
	body     []byte
}

// NewTestMode returns a TestMode forwarding to the stripe-mock at upstream.
func NewTestMode(upstream string) *TestMode {
	return &TestMode{
		upstream: strings.TrimRight(upstream, "/"),
		client:   &http.Client{},
		saved:    make(map[string]*savedResponse),
		attached: make(map[string][]string),
		defaults: make(map[string]string),
	}
}

// succeeding are Stripe's test payment methods that charge successfully.
var succeeding = map[string]bool{
	"pm_card_visa": true, "pm_card_visa_debit": true, "pm_card_mastercard": true,
	"pm_card_amex": true, "pm_card_discover": true, "pm_card_us": true,
}

// testCards are the brand and last four digits of Stripe's test payment
// methods (the card numbers of Stripe's testing documentation).
var testCards = map[string]struct{ brand, last4 string }{
	"pm_card_visa": {"visa", "4242"}, "pm_card_visa_debit": {"visa", "5556"}, "pm_card_mastercard": {"mastercard", "4444"},
	"pm_card_amex": {"amex", "8431"}, "pm_card_discover": {"discover", "1117"}, "pm_card_us": {"visa", "4242"},
	"pm_card_chargeDeclined": {"visa", "0002"}, "pm_card_chargeDeclinedInsufficientFunds": {"visa", "9995"},
	"pm_card_chargeDeclinedLostCard": {"visa", "9987"}, "pm_card_chargeDeclinedStolenCard": {"visa", "9979"},
	"pm_card_chargeDeclinedExpiredCard": {"visa", "0069"}, "pm_card_chargeDeclinedIncorrectCvc": {"visa", "0127"},
	"pm_card_authenticationRequired": {"visa", "3184"},
}

// withCard sets the card brand and last four digits of a test payment
// method's object.
func withCard(status int, body []byte) (int, []byte) {
	if status != http.StatusOK {
		return status, body
	}
	var obj struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &obj) != nil {
		return status, body
	}
	c, ok := testCards[obj.ID]
	if !ok {
		return status, body
	}
	return patch(status, body, func(pm map[string]any) {
		card, _ := pm["card"].(map[string]any)
		if card == nil {
			return
		}
		card["brand"], card["display_brand"], card["last4"] = c.brand, c.brand, c.last4
	})
}

type decline struct{ code, declineCode, message string }

// declining are Stripe's test payment methods that are declined.
var declining = map[string]decline{
	"pm_card_chargeDeclined":                  {"card_declined", "generic_decline", "Your card was declined."},
	"pm_card_chargeDeclinedInsufficientFunds": {"card_declined", "insufficient_funds", "Your card has insufficient funds."},
	"pm_card_chargeDeclinedLostCard":          {"card_declined", "lost_card", "Your card was declined."},
	"pm_card_chargeDeclinedStolenCard":        {"card_declined", "stolen_card", "Your card was declined."},
	"pm_card_chargeDeclinedExpiredCard":       {"expired_card", "", "Your card has expired."},
	"pm_card_chargeDeclinedIncorrectCvc":      {"incorrect_cvc", "", "Your card's security code is incorrect."},
	"pm_card_authenticationRequired":          {"authentication_required", "", "Your card was declined. This transaction requires authentication."},
}

func (tm *TestMode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeStripeError(w, http.StatusBadRequest, "invalid_request_error", "", "unreadable body")
		return
	}
	params, _ := url.ParseQuery(string(body))
	key := r.Header.Get("Idempotency-Key")
	if r.Method != http.MethodPost || key == "" {
		status, out := tm.handle(r, body, params)
		writeJSON(w, status, out, false)
		return
	}

	scope := r.Header.Get("Authorization") + "\x00" + key
	tm.mu.Lock()
	if s, ok := tm.saved[scope]; ok {
		tm.mu.Unlock()
		switch {
		case s.inFlight:
			writeStripeError(w, http.StatusConflict, "idempotency_error", "idempotency_key_in_use",
				"There is currently another in-progress request using this Idempotent Key.")
		case s.path != r.URL.Path || !reflect.DeepEqual(s.params, params):
			writeStripeError(w, http.StatusBadRequest, "idempotency_error", "",
				"Keys for idempotent requests can only be used with the same parameters they were first used with.")
		default:
			writeJSON(w, s.status, s.body, true)
		}
		return
	}
	s := &savedResponse{path: r.URL.Path, params: params, inFlight: true}
	tm.saved[scope] = s
	tm.mu.Unlock()

	status, out := tm.handle(r, body, params)
	tm.mu.Lock()
	if status < 400 || status == http.StatusPaymentRequired {
		s.inFlight, s.status, s.body = false, status, out
	} else {
		delete(tm.saved, scope)
	}
	tm.mu.Unlock()
	writeJSON(w, status, out, false)
}

// handle answers one request, adding TestMode's state to stripe-mock's.
func (tm *TestMode) handle(r *http.Request, body []byte, params url.Values) (int, []byte) {
	path := r.URL.Path
	switch {
	case r.Method == http.MethodPost && path == "/v1/payment_intents" && params.Get("confirm") == "true":
		return tm.confirm(r, body, params)

	case r.Method == http.MethodPost && strings.HasPrefix(path, "/v1/payment_methods/") && strings.HasSuffix(path, "/attach"):
		status, out := withCard(tm.forward(r, body))
		if status == http.StatusOK {
			pm := strings.TrimSuffix(strings.TrimPrefix(path, "/v1/payment_methods/"), "/attach")
			customer := params.Get("customer")
			tm.mu.Lock()
			list := slices.DeleteFunc(tm.attached[customer], func(id string) bool { return id == pm })
			tm.attached[customer] = append([]string{pm}, list...)
			tm.mu.Unlock()
		}
		return status, out

	case r.Method == http.MethodPost && strings.HasPrefix(path, "/v1/payment_methods/") && strings.HasSuffix(path, "/detach"):
		status, out := tm.forward(r, body)
		if status == http.StatusOK {
			pm := strings.TrimSuffix(strings.TrimPrefix(path, "/v1/payment_methods/"), "/detach")
			tm.mu.Lock()
			for c, list := range tm.attached {
				tm.attached[c] = slices.DeleteFunc(list, func(id string) bool { return id == pm })
			}
			tm.mu.Unlock()
		}
		return status, out

	case r.Method == http.MethodGet && path == "/v1/payment_methods" && r.URL.Query().Get("customer") != "":
		return tm.listPaymentMethods(r, r.URL.Query().Get("customer"))

	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1/payment_methods/") && strings.Count(path, "/") == 3:
		return withCard(tm.forward(r, body))

	case strings.HasPrefix(path, "/v1/customers/") && strings.Count(path, "/") == 3 && path != "/v1/customers/search":
		customer := strings.TrimPrefix(path, "/v1/customers/")
		status, out := tm.forward(r, body)
		if status != http.StatusOK {
			return status, out
		}
		tm.mu.Lock()
		if pm := params.Get("invoice_settings[default_payment_method]"); r.Method == http.MethodPost && pm != "" {
			tm.defaults[customer] = pm
		}
		def := tm.defaults[customer]
		tm.mu.Unlock()
		if def == "" {
			return status, out
		}
		return patch(status, out, func(obj map[string]any) {
			settings, _ := obj["invoice_settings"].(map[string]any)
			if settings == nil {
				settings = map[string]any{}
			}
			settings["default_payment_method"] = def
			obj["invoice_settings"] = settings
		})
	}
	return tm.forward(r, body)
}

// confirm creates a PaymentIntent with confirm=true, applying the outcome of
// Stripe's test payment methods.
func (tm *TestMode) confirm(r *http.Request, body []byte, params url.Values) (int, []byte) {
	status, out := tm.forward(r, body)
	if status != http.StatusOK {
		return status, out
	}
	pm := params.Get("payment_method")
	if succeeding[pm] {
		return patch(status, out, func(pi map[string]any) {
			pi["status"] = "succeeded"
			pi["amount_received"] = pi["amount"]
			pi["last_payment_error"] = nil
			pi["next_action"] = nil
		})
	}
	d, ok := declining[pm]
	if !ok {
		return status, out
	}
	var pi map[string]any
	if err := json.Unmarshal(out, &pi); err != nil {
		return http.StatusInternalServerError, stripeError("api_error", "", "stripemock: "+err.Error())
	}
	lastErr := map[string]any{"type": "card_error", "code": d.code, "message": d.message}
	if d.declineCode != "" {
		lastErr["decline_code"] = d.declineCode
	}
	pi["status"] = "requires_payment_method"
	pi["amount_received"] = 0
	pi["last_payment_error"] = lastErr
	errObj := map[string]any{"type": "card_error", "code": d.code, "message": d.message, "payment_intent": pi}
	if d.declineCode != "" {
		errObj["decline_code"] = d.declineCode
	}
	b, _ := json.Marshal(map[string]any{"error": errObj})
	return http.StatusPaymentRequired, b
}

func (tm *TestMode) listPaymentMethods(r *http.Request, customer string) (int, []byte) {
	tm.mu.Lock()
	ids := slices.Clone(tm.attached[customer])
	tm.mu.Unlock()
	if len(ids) == 0 {
		return tm.forward(r, nil)
	}
	data := make([]json.RawMessage, 0, len(ids))
	for _, id := range ids {
		get, _ := http.NewRequest(http.MethodGet, "/v1/payment_methods/"+url.PathEscape(id), nil)
		get.Header = r.Header.Clone()
		status, out := withCard(tm.forward(get, nil))
		if status != http.StatusOK {
			return status, out
		}
		_, out = patch(status, out, func(obj map[string]any) { obj["customer"] = customer })
		data = append(data, out)
	}
	b, _ := json.Marshal(map[string]any{"object": "list", "data": data, "has_more": false, "url": "/v1/payment_methods"})
	return http.StatusOK, b
}

// forward sends the request to stripe-mock and returns its answer.
func (tm *TestMode) forward(r *http.Request, body []byte) (int, []byte) {
	req, err := http.NewRequest(r.Method, tm.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return http.StatusInternalServerError, stripeError("api_error", "", "stripemock: "+err.Error())
	}
	for _, h := range []string{"Authorization", "Content-Type", "Stripe-Version", "Stripe-Account", "Idempotency-Key"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := tm.client.Do(req)
	if err != nil {
		return http.StatusBadGateway, stripeError("api_error", "", "stripemock: upstream: "+err.Error())
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return http.StatusBadGateway, stripeError("api_error", "", "stripemock: upstream: "+err.Error())
	}
	return resp.StatusCode, out
}

// patch decodes a JSON object, lets f change it and encodes it again.
func patch(status int, body []byte, f func(map[string]any)) (int, []byte) {
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return http.StatusInternalServerError, stripeError("api_error", "", fmt.Sprintf("stripemock: patching response: %v", err))
	}
	f(obj)
	b, err := json.Marshal(obj)
	if err != nil {
		return http.StatusInternalServerError, stripeError("api_error", "", fmt.Sprintf("stripemock: patching response: %v", err))
	}
	return status, b
}

func stripeError(typ, code, message string) []byte {
	e := map[string]any{"type": typ, "message": message}
	if code != "" {
		e["code"] = code
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return b
}

func writeStripeError(w http.ResponseWriter, status int, typ, code, message string) {
	writeJSON(w, status, stripeError(typ, code, message), false)
}

func writeJSON(w http.ResponseWriter, status int, body []byte, replayed bool) {
	w.Header().Set("Content-Type", "application/json")
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
