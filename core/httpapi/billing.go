package httpapi

import (
	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/projects"
	"github.com/ezscale/platform/core/services"
)

// BillingAPI is the HTTP adapter of core/billing: the customer's billing
// profile, services, invoices and credit, and the staff's billing
// administration (services, invoices, credit adjustments, runs).
type BillingAPI struct {
	Billing *billing.Billing
	// Services is the service records and their status machine
	// (core/services): suspensions, the staff's suspend and unsuspend.
	Services *services.Services
	// Projects filters the services list by project (?project_id=); nil:
	// the filter is ignored.
	Projects *projects.Service
	s        *Server
}

// Routes registers the billing routes (documented in openapi/20_billing.yaml).
func (m *BillingAPI) Routes(s *Server) {
	m.s = s
	support, admin := accounts.StaffSupport, accounts.StaffAdmin
	acct := "/api/v1/accounts/{account_id}"
	routes := []Route{
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
		{Method: "GET", Path: acct + "/credit", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.getCredit},
		{Method: "GET", Path: acct + "/credit/entries", Auth: User, Members: anyMember, StaffRole: support, Scope: "billing:read", Handler: m.listEntries},

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
		{Method: "POST", Path: "/api/v1/admin/billing/runs", Auth: Staff, StaffRole: admin, Scope: "admin:write", Idempotent: true, HighRisk: &HighRisk{Action: "billing.run", TargetType: "billing_run"}, Handler: m.triggerRun},
		{Method: "GET", Path: "/api/v1/admin/billing/runs", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.listRuns},
		{Method: "GET", Path: "/api/v1/admin/billing/runs/{run_id}", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.getRun},
	}
	for _, rt := range routes {
		s.Handle(rt)
	}
}
