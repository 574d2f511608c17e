package notify

import "slices"

// TypeInfo describes a notification type: where it shows, who gets it,
// which channels it may use and which are on by default.
type TypeInfo struct {
	Type     Type
	Category Category
	// Description is shown next to the type's preferences.
	Description string
	// Channels the type may use; preferences exist only for these.
	Channels []Channel
	// Defaults are the channels on when the user has not chosen.
	Defaults []Channel
	// Locked channels cannot be turned off (security messages).
	Locked []Channel
	// Marketing messages carry List-Unsubscribe headers, go only to
	// verified addresses, and stop on one-click unsubscribe.
	Marketing bool
	// Roles of an account's members that receive the type when the event
	// names an account; nil means every member.
	Roles []string
	// Hidden types have no user preferences (account mail, admin alerts).
	Hidden bool
	// Sample is example data: the documentation of the template keys, and
	// what templates are test-rendered with when the service starts.
	Sample map[string]any
}

// On reports whether ch is on by default.
func (t *TypeInfo) On(ch Channel) bool { return slices.Contains(t.Defaults, ch) }

// IsLocked reports whether ch cannot be turned off.
func (t *TypeInfo) IsLocked(ch Channel) bool { return slices.Contains(t.Locked, ch) }

// Has reports whether the type may use ch.
func (t *TypeInfo) Has(ch Channel) bool { return slices.Contains(t.Channels, ch) }

// Customer roles (core/accounts) used to route account-wide events.
var (
	billingRoles  = []string{"owner", "admin", "billing"}
	servicesRoles = []string{"owner", "admin", "technical"}
)

var (
	allChannels  = []Channel{ChannelInApp, ChannelEmail, ChannelDiscord}
	inAppAndMail = []Channel{ChannelInApp, ChannelEmail}
)

var invoiceSample = map[string]any{
	"invoice_id": "01890000-0000-7000-8000-000000000001", "number": "INV-2026-00042",
	"total": int64(2847), "currency": "USD", "due_date": "2026-03-01",
}

var serviceSample = map[string]any{
	"service_id": "01890000-0000-7000-8000-000000000002", "service_name": "vps-fra-1", "plan": "VPS 4 GB",
	"reason": "payment overdue",
}

var paymentSample = map[string]any{
	"payment_id": "01890000-0000-7000-8000-000000000004", "amount": int64(2847), "currency": "USD",
	"reason": "the card was declined",
}

var topUpFailureSample = map[string]any{"amount": int64(5000), "currency": "USD", "reason": "the card was declined"}

var planChangeSample = map[string]any{
	"change_id": "01890000-0000-7000-8000-000000000005", "service_id": "01890000-0000-7000-8000-000000000002",
	"service_name": "vps-fra-1", "kind": "upgrade", "change": "upgrade to plan VPS 8 GB", "to_plan_id": "plan-vps-8",
	"addon_id": "", "run_at": "2026-03-08T09:00:00Z",
}

// budgetServicesSample is the services list of budget.stopped and
// budget.resumed: one map per service.
// transferRoles receive service transfers: the roles that may ask,
// accept or cancel one.
var transferRoles = []string{"owner", "admin"}

var transferSample = map[string]any{
	"transfer_id": "01890000-0000-7000-8000-000000000007", "service_id": "01890000-0000-7000-8000-000000000002",
	"service_name": "vps-fra-1", "plan": "VPS 4 GB", "from_account": "Acme Ltd", "to_account": "Beta GmbH",
	"direction": "incoming", "status": "pending", "reason": "", "expires_at": "2026-03-08T09:00:00Z",
}

var enterpriseSample = map[string]any{
	"request_id": "01890000-0000-7000-8000-000000000008", "status": "quoted", "nodes": 3, "region": "eu-central",
	"monthly_price": int64(120000), "setup_fee": int64(50000), "currency": "USD", "expires_at": "2026-03-08T09:00:00Z",
	"service_id": "",
}

var budgetServicesSample = []map[string]any{
	{"id": "01890000-0000-7000-8000-000000000002", "name": "vps-fra-1", "type": "vps"},
	{"id": "01890000-0000-7000-8000-000000000006", "name": "mc-survival", "type": "game"},
}

// dependencySample: the dependent service told (service_*) and the root
// cause (root_*): the service that went down, and why.
var dependencySample = map[string]any{
	"service_id": "01890000-0000-7000-8000-000000000002", "service_name": "web-1",
	"root_id": "01890000-0000-7000-8000-000000000009", "root_name": "db-1", "reason": "failed its http health check (connection refused)",
	"episode_id": "01890000-0000-7000-8000-00000000000a",
}

var recoverySample = map[string]any{
	"service_id": "01890000-0000-7000-8000-000000000002", "service_name": "vps-fra-1", "check_type": "http",
	"error": "connection timed out",
}

var securitySample = map[string]any{"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "email": "ada@example.com"}

var highRiskSample = map[string]any{
	"action": "credit.adjust", "actor_id": "01890000-0000-7000-8000-00000000000b", "actor_role": "admin",
	"target_type": "account", "target_id": "01890000-0000-7000-8000-00000000000c", "policies": "Large credit adjustment",
	"amount": int64(75000), "currency": "USD", "services_affected": int64(0), "customers_affected": int64(1),
}

var approvalSample = map[string]any{
	"approval_id": "01890000-0000-7000-8000-00000000000d", "action": "credit.adjust",
	"summary": "credit.adjust on account 01890000-0000-7000-8000-00000000000c (amount 75000 USD)",
	"policy":  "Large credit adjustment", "reason": "not agreed with the customer", "expires_at": "2026-03-02T09:00:00Z",
}

// Support (core/support): an operator replied on the ticket a
// conversation with the assistant became; the ticket's state changed.
// Only the user of the conversation gets them.
const (
	SupportReply        Type = "support.reply"
	SupportTicketStatus Type = "support.ticket_status"
)

var supportSample = map[string]any{
	"conversation_id": "01890000-0000-7000-8000-000000000010", "subject": "My server does not start",
	"ticket_number": "10342", "ticket_url": "https://help.example.com/en/tickets/view/10342",
}

// registry is every type, in display order.
var registry = []*TypeInfo{
	{Type: InvoiceIssued, Category: CategoryBilling, Description: "A new invoice was issued",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles, Sample: invoiceSample},
	{Type: InvoicePaid, Category: CategoryBilling, Description: "An invoice was paid",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles, Sample: invoiceSample},
	{Type: InvoiceOverdue, Category: CategoryBilling, Description: "An invoice is overdue",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles,
		Sample: merge(invoiceSample, map[string]any{"days_overdue": 3, "warning": "The service will be suspended 7 day(s) after the due date."})},
	{Type: TopUpCompleted, Category: CategoryBilling, Description: "Credit was added to the account",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles,
		Sample: map[string]any{"amount": int64(5000), "currency": "USD", "balance": int64(7550)}},
	{Type: TopUpFailed, Category: CategoryBilling, Description: "A top-up could not be charged",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles, Sample: topUpFailureSample},
	{Type: AutoTopUpFailed, Category: CategoryBilling, Description: "An automatic top-up could not be charged",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles,
		Sample: merge(topUpFailureSample, map[string]any{"failures": 1, "max_failures": 3})},
	{Type: AutoTopUpDisabled, Category: CategoryBilling, Description: "Automatic top-up was turned off",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles,
		Sample: map[string]any{"reason": "3 failed charges in a row (last: the card was declined)"}},
	{Type: PaymentFailed, Category: CategoryBilling, Description: "A payment could not be charged",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles, Sample: paymentSample},
	{Type: PaymentActionRequired, Category: CategoryBilling, Description: "Your bank asks you to confirm a payment",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles,
		Sample: map[string]any{"payment_id": "01890000-0000-7000-8000-000000000004", "amount": int64(2847), "currency": "USD"}},
	{Type: OrderRefunded, Category: CategoryBilling, Description: "An order that could not be set up was refunded to credit",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles,
		Sample: merge(invoiceSample, map[string]any{"amount": int64(2847), "service_id": "01890000-0000-7000-8000-000000000002",
			"service_name": "vps-fra-1"})},
	{Type: BudgetAlert, Category: CategoryBilling, Description: "Spending reached a budget threshold",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles,
		Sample: map[string]any{"percent": 75, "spent": int64(7500), "limit": int64(10000), "currency": "USD",
			"reset_on": "2026-04-01", "limit_reached": false, "hard_stop": true, "rule": "projected_percent >= 120"}},
	{Type: BudgetStopped, Category: CategoryBilling, Description: "The budget's hard stop suspended services",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles,
		Sample: map[string]any{"percent": 100, "limit": int64(10000), "currency": "USD", "reset_on": "2026-04-01",
			"services": budgetServicesSample}},
	{Type: BudgetResumed, Category: CategoryBilling, Description: "Services held by the budget were resumed",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles,
		Sample: map[string]any{"reason": "override", "reset_on": "2026-04-01", "services": budgetServicesSample}},
	{Type: ServiceProvisioned, Category: CategoryServices, Description: "A service is ready",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles, Sample: serviceSample},
	{Type: ServiceSuspended, Category: CategoryServices, Description: "A service was suspended",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles, Sample: serviceSample},
	{Type: ServiceFailed, Category: CategoryServices, Description: "A service could not be provisioned or failed",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles, Sample: serviceSample},
	{Type: ServiceInactive, Category: CategoryServices, Description: "A free-tier service will be removed for inactivity",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles,
		Sample: map[string]any{"service_id": "01890000-0000-7000-8000-000000000002", "service_name": "dev-box",
			"idle_days": 83, "terminate_on": "2026-03-08"}},
	{Type: ServiceUnsuspended, Category: CategoryServices, Description: "A suspended service is active again",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles,
		Sample: map[string]any{"service_id": "01890000-0000-7000-8000-000000000002", "service_name": "vps-fra-1"}},
	{Type: ServiceTerminated, Category: CategoryServices, Description: "A service was terminated",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles,
		Sample: map[string]any{"service_id": "01890000-0000-7000-8000-000000000002", "service_name": "vps-fra-1",
			"reason": "its invoice stayed unpaid for 30 days"}},
	{Type: TaskSucceeded, Category: CategoryServices, Description: "A scheduled task completed (tasks set to always notify)",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles,
		Sample: map[string]any{"task_id": "01890000-0000-7000-8000-000000000003", "run_id": "01890000-0000-7000-8000-000000000007",
			"task_name": "nightly backup", "task_type": "snapshot", "service_id": "01890000-0000-7000-8000-000000000002",
			"service_name": "vps-fra-1", "due_at": "2026-03-02T03:00:00Z"}},
	{Type: TaskFailed, Category: CategoryServices, Description: "A scheduled task failed",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles,
		Sample: map[string]any{"task_id": "01890000-0000-7000-8000-000000000003", "task_name": "nightly backup",
			"service_name": "vps-fra-1", "error": "snapshot quota exceeded",
			"run_id": "01890000-0000-7000-8000-000000000007", "task_type": "snapshot", "service_id": "01890000-0000-7000-8000-000000000002",
			"due_at": "2026-03-02T03:00:00Z", "attempts": 3}},
	{Type: TaskUnknown, Category: CategoryServices, Description: "A scheduled task was interrupted and may not have run",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles,
		Sample: map[string]any{"task_id": "01890000-0000-7000-8000-000000000003", "task_name": "console command",
			"service_name": "mc-1", "error": "the call was interrupted and nothing at the backend tells whether it happened; it was not repeated",
			"run_id": "01890000-0000-7000-8000-000000000007", "task_type": "custom_script", "service_id": "01890000-0000-7000-8000-000000000002",
			"due_at": "2026-03-02T03:00:00Z", "status": "unknown"}},
	{Type: PlanChangeReminder, Category: CategoryServices, Description: "A scheduled plan change happens in 24 hours",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles, Sample: planChangeSample},
	{Type: PlanChangeApplied, Category: CategoryServices, Description: "A scheduled plan change was applied",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles, Sample: planChangeSample},
	{Type: PlanChangeFailed, Category: CategoryServices, Description: "A scheduled plan change could not be applied",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles,
		Sample: merge(planChangeSample, map[string]any{"error": "the plan is not available in this region"})},
	{Type: RecoveryRestarted, Category: CategoryServices, Description: "Auto-recovery restarted a service (or could not)",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles,
		Sample: merge(recoverySample, map[string]any{"attempt_id": "01890000-0000-7000-8000-000000000008", "restart_error": "provisioner unavailable"})},
	{Type: RecoveryGaveUp, Category: CategoryServices, Description: "Auto-recovery stopped restarting a service",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles,
		Sample: merge(recoverySample, map[string]any{"restarts": 3})},
	{Type: DependencyDown, Category: CategoryServices, Description: "A service yours depends on is down",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles, Sample: dependencySample},
	{Type: DependencyRecovered, Category: CategoryServices, Description: "A service yours depends on recovered",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles, Sample: dependencySample},
	// Service transfers (core/transfers).
	{Type: TransferRequested, Category: CategoryServices, Description: "Another account asks to transfer a service to yours",
		Channels: allChannels, Defaults: inAppAndMail, Roles: transferRoles, Sample: transferSample},
	{Type: TransferUpdated, Category: CategoryServices, Description: "A service transfer was accepted, declined, cancelled, rejected or expired",
		Channels: allChannels, Defaults: inAppAndMail, Roles: transferRoles, Sample: transferSample},
	{Type: TransferCompleted, Category: CategoryServices, Description: "A service transfer completed",
		Channels: allChannels, Defaults: inAppAndMail, Roles: transferRoles,
		Sample: merge(transferSample, map[string]any{"status": "completed", "amount": int64(1500), "currency": "USD", "invoice_id": "01890000-0000-7000-8000-000000000001"})},
	// Support tickets (core/support).
	{Type: SupportReply, Category: CategorySupport, Description: "Our support team replied to your ticket",
		Channels: allChannels, Defaults: inAppAndMail,
		Sample: merge(supportSample, map[string]any{"author": "Alex", "excerpt": "We restarted the node; please try again."})},
	{Type: SupportTicketStatus, Category: CategorySupport, Description: "Your support ticket is waiting on you, closed or reopened",
		Channels: allChannels, Defaults: []Channel{ChannelInApp},
		Sample: merge(supportSample, map[string]any{"state": "closed", "status": "Resolved"})},
	// Enterprise requests (core/enterprise).
	{Type: EnterpriseQuoted, Category: CategoryBilling, Description: "Your enterprise request was quoted",
		Channels: inAppAndMail, Defaults: inAppAndMail, Roles: transferRoles, Sample: enterpriseSample},
	{Type: EnterpriseUpdated, Category: CategoryBilling, Description: "Your enterprise request was received, accepted, declined or given a service",
		Channels: inAppAndMail, Defaults: inAppAndMail, Roles: transferRoles, Sample: enterpriseSample},
	// Staff admins and owners only (the enterprise domain names them): no
	// customer preference.
	{Type: EnterpriseStaff, Category: CategorySystem, Description: "An enterprise request arrived or its quote was accepted (staff)",
		Channels: inAppAndMail, Defaults: inAppAndMail, Hidden: true,
		Sample: merge(enterpriseSample, map[string]any{"status": "submitted", "account_id": "01890000-0000-7000-8000-00000000000c"})},
	{Type: SecurityTwoFactorEnabled, Category: CategorySystem, Description: "Two-factor authentication was turned on",
		Channels: inAppAndMail, Defaults: inAppAndMail, Locked: inAppAndMail, Sample: securitySample},
	{Type: SecurityTwoFactorDisabled, Category: CategorySystem, Description: "Two-factor authentication was turned off",
		Channels: inAppAndMail, Defaults: inAppAndMail, Locked: inAppAndMail, Sample: securitySample},
	{Type: SecurityPasswordChanged, Category: CategorySystem, Description: "Your password was changed",
		Channels: inAppAndMail, Defaults: inAppAndMail, Locked: inAppAndMail,
		Sample: merge(securitySample, map[string]any{"reset": false, "tokens": []map[string]any{
			{"name": "ci deploy", "prefix": "ezs_pat_k4f7", "scopes": "services:read services:write", "created": "2026-01-05", "last_used": "2026-03-01"},
		}})},
	{Type: SecurityNewLogin, Category: CategorySystem, Description: "A sign-in from a new address",
		Channels: inAppAndMail, Defaults: inAppAndMail, Locked: inAppAndMail, Sample: securitySample},
	{Type: Announcement, Category: CategorySystem, Description: "News and announcements",
		Channels: allChannels, Defaults: inAppAndMail, Marketing: true,
		Sample: map[string]any{"title": "New region: Frankfurt", "message": "VPS plans are now available in Frankfurt."}},
	{Type: AccountVerifyEmail, Category: CategorySystem, Description: "Email address confirmation",
		Channels: []Channel{ChannelEmail}, Defaults: []Channel{ChannelEmail}, Locked: []Channel{ChannelEmail}, Hidden: true,
		Sample: map[string]any{"link": "https://billing.example.com/verify-email?token=ezo_x", "token": "ezo_x", "expires_in": "1h0m0s"}},
	{Type: AccountPasswordReset, Category: CategorySystem, Description: "Password reset link",
		Channels: []Channel{ChannelEmail}, Defaults: []Channel{ChannelEmail}, Locked: []Channel{ChannelEmail}, Hidden: true,
		Sample: map[string]any{"link": "https://billing.example.com/reset-password?token=ezo_x", "token": "ezo_x", "expires_in": "1h0m0s"}},
	{Type: AccountStaffInvite, Category: CategorySystem, Description: "Staff invitation: choose your password",
		Channels: []Channel{ChannelEmail}, Defaults: []Channel{ChannelEmail}, Locked: []Channel{ChannelEmail}, Hidden: true,
		Sample: map[string]any{"link": "https://billing.example.com/reset-password?token=ezo_x", "token": "ezo_x", "expires_in": "1h0m0s", "role": "admin"}},
	// High-risk staff actions (core/approval).
	{Type: HighRiskAlert, Category: CategorySystem, Description: "A high-risk staff action ran (alert policies)",
		Channels: allChannels, Defaults: inAppAndMail, Sample: highRiskSample},
	{Type: ApprovalRequested, Category: CategorySystem, Description: "A staff request awaits your approval",
		Channels: allChannels, Defaults: inAppAndMail, Sample: approvalSample},
	{Type: ApprovalRejected, Category: CategorySystem, Description: "Your request was rejected by another staff member",
		Channels: allChannels, Defaults: inAppAndMail, Sample: approvalSample},
	{Type: ApprovalExpired, Category: CategorySystem, Description: "Your request expired without a decision",
		Channels: allChannels, Defaults: inAppAndMail, Sample: approvalSample},
	{Type: AdminAlert, Category: CategorySystem, Description: "Operator alert (Discord webhook)",
		Hidden: true, Sample: map[string]any{"title": "Plugin virtfusion failed", "message": "3 crashes in 10 minutes"}},
	// Staff owners only (the compliance domain names them): no customer
	// preference.
	{Type: ComplianceReviewDue, Category: CategorySystem, Description: "A security policy review or vendor assessment is due",
		Channels: inAppAndMail, Defaults: inAppAndMail, Hidden: true,
		Sample: map[string]any{"kind": "policy", "what": "review", "id": "01890000-0000-7000-8000-00000000000b",
			"name": "Information Security Policy", "due_date": "2026-03-15", "days_left": 14}},
}

var byType = func() map[Type]*TypeInfo {
	m := make(map[Type]*TypeInfo, len(registry))
	for _, t := range registry {
		m[t.Type] = t
	}
	return m
}()

// Lookup returns a type's description.
func Lookup(t Type) (*TypeInfo, bool) {
	info, ok := byType[t]
	return info, ok
}

// Types lists every type in display order.
func Types() []*TypeInfo { return registry }

func merge(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
