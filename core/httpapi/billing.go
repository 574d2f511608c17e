package httpapi

import (
	"io"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/projects"
	"github.com/ezscale/platform/core/ratelimit"
)

// BillingAPI is the HTTP adapter of core/billing: the public catalog, the
// customer's services, invoices, credit and payment methods, the staff
// catalog and billing administration, and the payment gateway webhooks.
type BillingAPI struct {
	Billing *billing.Billing
	// TopUpLimit bounds card top-ups per client (default 10 per 15 min).
	TopUpLimit *ratelimit.Rule
	// Projects filters the services list by project (?project_id=); nil:
	// the filter is ignored.
	Projects *projects.Service
	s        *Server
}

// Routes registers the billing routes (documented in openapi/20_billing.yaml).
func (m *BillingAPI) Routes(s *Server) {
	m.s = s
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
		{Method: "GET", Path: acct + "/billing-profile", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.getProfile},
		{Method: "PATCH", Path: acct + "/billing-profile", Auth: User, Members: billers, StaffRole: admin, Scope: "billing:write", Handler: m.updateProfile},
		{Method: "GET", Path: acct + "/services", Auth: User, Members: anyMember, StaffRole: support, Scope: "services:read", Handler: m.listServices},
		{Method: "GET", Path: acct + "/services/{service_id}", Auth: User, Members: anyMember, StaffRole: support, Scope: "services:read", Handler: m.getService},
		{Method: "GET", Path: acct + "/services/{service_id}/plan-changes", Auth: User, Members: anyMember, StaffRole: support, Scope: "services:read", Handler: m.listPlanChanges},
		{Method: "POST", Path: acct + "/orders", Auth: User, Members: billers, StaffRole: admin, Scope: "billing:write", Idempotent: true, Handler: m.order},
		{Method: "POST", Path: acct + "/services/{service_id}/change-plan", Auth: User, Members: billers, StaffRole: admin, Scope: "billing:write", Idempotent: true, Handler: m.changePlan},
		{Method: "POST", Path: acct + "/services/{service_id}/cancel", Auth: User, Members: managers, StaffRole: admin, Scope: "services:write", Idempotent: true, Handler: m.cancelService},
		{Method: "GET", Path: acct + "/services/{service_id}/addons", Auth: User, Members: anyMember, StaffRole: support, Scope: "services:read", Handler: m.listServiceAddons},
		{Method: "POST", Path: acct + "/services/{service_id}/addons", Auth: User, Members: billers, StaffRole: admin, Scope: "billing:write", Idempotent: true, Handler: m.addServiceAddon},
		{Method: "POST", Path: acct + "/services/{service_id}/addons/{addon_id}/remove", Auth: User, Members: billers, StaffRole: admin, Scope: "billing:write", Idempotent: true, Handler: m.removeServiceAddon},
		{Method: "GET", Path: acct + "/invoices", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.listInvoices},
		{Method: "GET", Path: acct + "/projects/{project_id}/billing", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.projectBilling},
		{Method: "GET", Path: acct + "/projects/{project_id}/billing.csv", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.projectBillingCSV},
		{Method: "GET", Path: acct + "/invoices/{invoice_id}", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.getInvoice},
		{Method: "POST", Path: acct + "/invoices/{invoice_id}/pay", Auth: User, Members: billers, StaffRole: admin, Scope: "billing:write", Idempotent: true, Handler: m.payInvoice},
		{Method: "GET", Path: acct + "/credit", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.getCredit},
		{Method: "GET", Path: acct + "/credit/entries", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.listEntries},
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

		// Staff: services, invoices, credit, runs.
		{Method: "GET", Path: "/api/v1/admin/services", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.adminListServices},
		{Method: "GET", Path: "/api/v1/admin/services/{service_id}", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.adminGetService},
		{Method: "POST", Path: "/api/v1/admin/services/{service_id}/suspend", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "services.suspend", TargetType: "service", TargetVar: "service_id", FactsFunc: oneService}, Handler: m.suspendService},
		{Method: "POST", Path: "/api/v1/admin/services/{service_id}/unsuspend", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "services.unsuspend", TargetType: "service", TargetVar: "service_id", FactsFunc: oneService}, Handler: m.unsuspendService},
		{Method: "POST", Path: "/api/v1/admin/services/terminate", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "services.terminate", TargetType: "service", FactsFunc: m.bulkTerminateFacts}, Handler: m.bulkTerminate},
		{Method: "POST", Path: "/api/v1/admin/services/{service_id}/terminate", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "services.terminate", TargetType: "service", TargetVar: "service_id", FactsFunc: oneService}, Handler: m.terminateService},
		{Method: "POST", Path: "/api/v1/admin/services/{service_id}/retry-provisioning", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "services.retry_provisioning", TargetType: "service", TargetVar: "service_id", FactsFunc: oneService}, Handler: m.retryProvisioning},
		{Method: "GET", Path: "/api/v1/admin/invoices", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.adminListInvoices},
		{Method: "POST", Path: "/api/v1/admin/invoices/{invoice_id}/void", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "invoices.void", TargetType: "invoice", TargetVar: "invoice_id"}, Handler: m.voidInvoice},
		{Method: "POST", Path: "/api/v1/admin/invoices/{invoice_id}/uncollectible", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "invoices.uncollectible", TargetType: "invoice", TargetVar: "invoice_id"}, Handler: m.uncollectible},
		{Method: "POST", Path: "/api/v1/admin/invoices/{invoice_id}/issue", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "invoices.issue", TargetType: "invoice", TargetVar: "invoice_id"}, Handler: m.issueInvoice},
		{Method: "POST", Path: "/api/v1/admin/accounts/{account_id}/invoices", Auth: Staff, StaffRole: admin, Scope: "admin:write", Idempotent: true, HighRisk: &HighRisk{Action: "invoices.create", TargetType: "account", TargetVar: "account_id", FactsFunc: invoiceFacts}, Handler: m.manualInvoice},
		{Method: "PATCH", Path: "/api/v1/admin/accounts/{account_id}/billing-profile", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "billing_profile.update", TargetType: "account", TargetVar: "account_id"}, Handler: m.adminUpdateProfile},
		{Method: "POST", Path: "/api/v1/admin/accounts/{account_id}/credit/adjustments", Auth: Staff, StaffRole: admin, Scope: "admin:write", Idempotent: true, HighRisk: &HighRisk{Action: "credit.adjust", TargetType: "account", TargetVar: "account_id", FactsFunc: amountFacts}, Handler: m.adjustCredit},
		{Method: "POST", Path: "/api/v1/admin/accounts/{account_id}/credit/refunds", Auth: Staff, StaffRole: admin, Scope: "admin:write", Idempotent: true, HighRisk: &HighRisk{Action: "credit.refund", TargetType: "account", TargetVar: "account_id", FactsFunc: amountFacts}, Handler: m.refund},
		{Method: "POST", Path: "/api/v1/admin/billing/runs", Auth: Staff, StaffRole: admin, Scope: "admin:write", Idempotent: true, HighRisk: &HighRisk{Action: "billing.run", TargetType: "billing_run"}, Handler: m.triggerRun},
		{Method: "GET", Path: "/api/v1/admin/billing/runs", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.listRuns},
		{Method: "GET", Path: "/api/v1/admin/billing/runs/{run_id}", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.getRun},
	}
	for _, rt := range routes {
		s.Handle(rt)
	}
}

// webhook hands the raw body and headers to the gateway plugin, which
// verifies the signature; the event is applied once per event id.
func (m *BillingAPI) webhook(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return errBodyTooLarge
	}
	headers := make(map[string]string, len(r.Header))
	for k, v := range r.Header {
		headers[k] = strings.Join(v, ",")
	}
	outcome, err := m.Billing.HandleWebhook(r.Context(), mux.Vars(r)["plugin"], body, headers)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": outcome})
}
