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

var securitySample = map[string]any{"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "email": "ada@example.com"}

// registry is every type, in display order.
var registry = []*TypeInfo{
	{Type: InvoiceIssued, Category: CategoryBilling, Description: "A new invoice was issued",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles, Sample: invoiceSample},
	{Type: InvoicePaid, Category: CategoryBilling, Description: "An invoice was paid",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles, Sample: invoiceSample},
	{Type: InvoiceOverdue, Category: CategoryBilling, Description: "An invoice is overdue",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles,
		Sample: merge(invoiceSample, map[string]any{"days_overdue": 3})},
	{Type: TopUpCompleted, Category: CategoryBilling, Description: "Credit was added to the account",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles,
		Sample: map[string]any{"amount": int64(5000), "currency": "USD", "balance": int64(7550)}},
	{Type: BudgetAlert, Category: CategoryBilling, Description: "Spending reached a budget threshold",
		Channels: allChannels, Defaults: inAppAndMail, Roles: billingRoles,
		Sample: map[string]any{"percent": 75, "spent": int64(7500), "limit": int64(10000), "currency": "USD"}},
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
	{Type: TaskFailed, Category: CategoryServices, Description: "A scheduled task failed",
		Channels: allChannels, Defaults: inAppAndMail, Roles: servicesRoles,
		Sample: map[string]any{"task_id": "01890000-0000-7000-8000-000000000003", "task_name": "nightly backup",
			"service_name": "vps-fra-1", "error": "snapshot quota exceeded"}},
	{Type: SecurityTwoFactorEnabled, Category: CategorySystem, Description: "Two-factor authentication was turned on",
		Channels: inAppAndMail, Defaults: inAppAndMail, Locked: inAppAndMail, Sample: securitySample},
	{Type: SecurityTwoFactorDisabled, Category: CategorySystem, Description: "Two-factor authentication was turned off",
		Channels: inAppAndMail, Defaults: inAppAndMail, Locked: inAppAndMail, Sample: securitySample},
	{Type: SecurityPasswordChanged, Category: CategorySystem, Description: "Your password was changed",
		Channels: inAppAndMail, Defaults: inAppAndMail, Locked: inAppAndMail, Sample: securitySample},
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
	{Type: AdminAlert, Category: CategorySystem, Description: "Operator alert (Discord webhook)",
		Hidden: true, Sample: map[string]any{"title": "Plugin virtfusion failed", "message": "3 crashes in 10 minutes"}},
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
