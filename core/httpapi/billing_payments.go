package httpapi

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/billing/payments"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/ratelimit"
)

// PaymentsAPI is the HTTP adapter of core/billing/payments: paying an
// invoice, top-ups and auto top-up, saved payment methods, the payments
// list, staff refunds, and the payment gateways' webhooks. The routes are
// documented with billing's (openapi/20_billing.yaml).
type PaymentsAPI struct {
	Payments *payments.Payments
	// TopUpLimit bounds card top-ups and saved cards per client (default
	// the server's sensitive-route limit).
	TopUpLimit *ratelimit.Rule
}

// Routes registers the payment routes.
func (m *PaymentsAPI) Routes(s *Server) {
	topUps := m.TopUpLimit
	if topUps == nil {
		topUps = s.sensitive()
	}
	support, admin := accounts.StaffSupport, accounts.StaffAdmin
	acct := "/api/v1/accounts/{account_id}"
	routes := []Route{
		// Gateway webhooks.
		{Method: "POST", Path: "/api/v1/webhooks/payments/{plugin}", Auth: Public, Handler: m.webhook},

		// The customer's account.
		{Method: "POST", Path: acct + "/invoices/{invoice_id}/pay", Auth: User, Members: billers, StaffRole: admin, Scope: "billing:write", Idempotent: true, Handler: m.payInvoice},
		{Method: "POST", Path: acct + "/credit/top-ups", Auth: User, Members: billers, StaffRole: admin, Scope: "billing:write", Idempotent: true, RateLimit: topUps, RateBucket: "top-ups", Handler: m.topUp},
		{Method: "GET", Path: acct + "/credit/top-ups", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.listTopUps},
		{Method: "GET", Path: acct + "/credit/top-ups/{topup_id}", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.getTopUp},
		{Method: "GET", Path: acct + "/credit/auto-top-up", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.getAutoTopUp},
		{Method: "PUT", Path: acct + "/credit/auto-top-up", Auth: User, Members: billers, StaffRole: admin, Scope: "billing:write", Handler: m.putAutoTopUp},
		{Method: "GET", Path: acct + "/payment-methods", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.listPaymentMethods},
		// Not Idempotent in the request's transaction: it calls the
		// gateway, which no transaction may wait on. The Idempotency-Key is
		// handed to the gateway instead.
		{Method: "POST", Path: acct + "/payment-methods", Auth: User, Members: billers, StaffRole: admin, Scope: "billing:write", RateLimit: topUps, RateBucket: "payment-methods", Handler: m.attachPaymentMethod},
		{Method: "POST", Path: acct + "/payment-methods/{pm_id}/default", Auth: User, Members: billers, StaffRole: admin, Scope: "billing:write", Handler: m.defaultPaymentMethod},
		{Method: "DELETE", Path: acct + "/payment-methods/{pm_id}", Auth: User, Members: billers, StaffRole: admin, Scope: "billing:write", Handler: m.removePaymentMethod},
		{Method: "GET", Path: acct + "/payments", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.listPayments},

		// Staff.
		{Method: "POST", Path: "/api/v1/admin/accounts/{account_id}/credit/refunds", Auth: Staff, StaffRole: admin, Scope: "admin:write", Idempotent: true, HighRisk: &HighRisk{Action: "credit.refund", TargetType: "account", TargetVar: "account_id", FactsFunc: amountFacts}, Handler: m.refund},
	}
	for _, rt := range routes {
		s.Handle(rt)
	}
}

// webhook hands the raw body and headers to the gateway plugin, which
// verifies the signature; the event is applied once per event id.
func (m *PaymentsAPI) webhook(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return errBodyTooLarge
	}
	headers := make(map[string]string, len(r.Header))
	for k, v := range r.Header {
		headers[k] = strings.Join(v, ",")
	}
	outcome, err := m.Payments.HandleWebhook(r.Context(), mux.Vars(r)["plugin"], body, headers)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": outcome})
}

func (m *PaymentsAPI) payInvoice(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	inv, queued, err := m.Payments.PayInvoice(r.Context(), acc, mux.Vars(r)["invoice_id"])
	if err != nil {
		return err
	}
	status := http.StatusOK
	if queued {
		status = http.StatusAccepted
	}
	return writeJSON(w, status, map[string]any{"invoice": invoiceView(inv), "charge_queued": queued})
}

func (m *PaymentsAPI) topUp(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in payments.TopUpInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	in.IdempotencyKey = r.Header.Get(idempotencyField)
	tu, err := m.Payments.TopUp(r.Context(), acc, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, topUpView(tu))
}

func (m *PaymentsAPI) listTopUps(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	return writePage(w, r, func(after string, limit int) ([]payments.TopUp, error) {
		return m.Payments.TopUps(r.Context(), acc, after, limit)
	}, topUpView, func(v TopUpView) string { return v.ID })
}

func (m *PaymentsAPI) getTopUp(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	tu, err := m.Payments.GetTopUp(r.Context(), acc, mux.Vars(r)["topup_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, topUpView(tu))
}

func (m *PaymentsAPI) getAutoTopUp(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	a, err := m.Payments.AutoTopUpSettings(r.Context(), acc)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, autoTopUpView(a))
}

func (m *PaymentsAPI) putAutoTopUp(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in payments.AutoTopUpInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	a, err := m.Payments.SetAutoTopUp(r.Context(), acc, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, autoTopUpView(a))
}

func (m *PaymentsAPI) listPaymentMethods(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	pms, err := m.Payments.PaymentMethods(r.Context(), acc)
	if err != nil {
		return err
	}
	out := make([]PaymentMethodView, len(pms))
	for i := range pms {
		out[i] = paymentMethodView(&pms[i])
	}
	return writeJSON(w, http.StatusOK, List[PaymentMethodView]{Data: out})
}

func (m *PaymentsAPI) attachPaymentMethod(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in payments.AttachInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	in.IdempotencyKey = r.Header.Get(idempotencyField)
	pm, err := m.Payments.AttachPaymentMethod(r.Context(), acc, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, paymentMethodView(pm))
}

func (m *PaymentsAPI) defaultPaymentMethod(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	if err := m.Payments.SetDefaultPaymentMethod(r.Context(), acc, mux.Vars(r)["pm_id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (m *PaymentsAPI) removePaymentMethod(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	if err := m.Payments.RemovePaymentMethod(r.Context(), acc, mux.Vars(r)["pm_id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (m *PaymentsAPI) listPayments(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	return writePage(w, r, func(after string, limit int) ([]payments.Payment, error) {
		return m.Payments.Payments(r.Context(), acc, after, limit)
	}, paymentView, func(v PaymentView) string { return v.ID })
}

func (m *PaymentsAPI) refund(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in payments.RefundInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	in.IdempotencyKey = r.Header.Get(idempotencyField)
	ref, err := m.Payments.Refund(r.Context(), acc, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, refundView(ref))
}

// TopUpView is a top-up.
type TopUpView struct {
	ID              string         `json:"id"`
	Source          string         `json:"source"`
	Amount          int64          `json:"amount"`
	Currency        money.Currency `json:"currency"`
	PaymentMethodID string         `json:"payment_method_id"`
	Status          string         `json:"status"`
	Failure         string         `json:"failure"`
	CreatedAt       time.Time      `json:"created_at"`
}

func topUpView(t *payments.TopUp) TopUpView {
	return TopUpView{ID: t.ID, Source: t.Source, Amount: t.Amount, Currency: t.Currency, PaymentMethodID: t.PaymentMethodID,
		Status: t.Status, Failure: t.Failure, CreatedAt: t.CreatedAt}
}

// PaymentView is a card payment.
type PaymentView struct {
	ID             string         `json:"id"`
	InvoiceID      *string        `json:"invoice_id"`
	TopUpID        *string        `json:"topup_id"`
	Amount         int64          `json:"amount"`
	Currency       money.Currency `json:"currency"`
	Status         string         `json:"status"`
	FailureCode    string         `json:"failure_code"`
	FailureMessage string         `json:"failure_message"`
	Refunded       int64          `json:"refunded"`
	CreatedAt      time.Time      `json:"created_at"`
}

func paymentView(p *payments.Payment) PaymentView {
	return PaymentView{ID: p.ID, InvoiceID: p.InvoiceID, TopUpID: p.TopUpID, Amount: p.Amount, Currency: p.Currency, Status: p.Status,
		FailureCode: p.FailureCode, FailureMessage: p.FailureMessage, Refunded: p.Refunded, CreatedAt: p.CreatedAt}
}

// RefundView is a refund to a card.
type RefundView struct {
	ID        string         `json:"id"`
	PaymentID string         `json:"payment_id"`
	Amount    int64          `json:"amount"`
	Currency  money.Currency `json:"currency"`
	Reason    string         `json:"reason"`
	Status    string         `json:"status"`
	Failure   string         `json:"failure"`
	CreatedAt time.Time      `json:"created_at"`
}

func refundView(r *payments.Refund) RefundView {
	return RefundView{ID: r.ID, PaymentID: r.PaymentID, Amount: r.Amount, Currency: r.Currency, Reason: r.Reason, Status: r.Status,
		Failure: r.Failure, CreatedAt: r.CreatedAt}
}

// PaymentMethodView is a saved payment method.
type PaymentMethodView struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Brand     string    `json:"brand"`
	Last4     string    `json:"last4"`
	ExpMonth  int       `json:"exp_month"`
	ExpYear   int       `json:"exp_year"`
	Default   bool      `json:"default"`
	CreatedAt time.Time `json:"created_at"`
}

func paymentMethodView(m *payments.PaymentMethod) PaymentMethodView {
	return PaymentMethodView{ID: m.ID, Type: m.Type, Brand: m.Brand, Last4: m.Last4, ExpMonth: m.ExpMonth, ExpYear: m.ExpYear,
		Default: m.Default, CreatedAt: m.CreatedAt}
}

// AutoTopUpView is an account's auto top-up settings.
type AutoTopUpView struct {
	Enabled         bool       `json:"enabled"`
	Threshold       int64      `json:"threshold"`
	Amount          int64      `json:"amount"`
	Target          int64      `json:"target"`
	PaymentMethodID string     `json:"payment_method_id"`
	Failures        int        `json:"failures"`
	MaxFailures     int        `json:"max_failures"`
	DisabledReason  string     `json:"disabled_reason"`
	LastAttemptAt   *time.Time `json:"last_attempt_at"`
}

func autoTopUpView(a *payments.AutoTopUp) AutoTopUpView {
	return AutoTopUpView{Enabled: a.Enabled, Threshold: a.Threshold, Amount: a.Amount, Target: a.Target, PaymentMethodID: a.PaymentMethodID,
		Failures: a.Failures, MaxFailures: a.MaxFailures, DisabledReason: a.DisabledReason, LastAttemptAt: a.LastAttemptAt}
}
