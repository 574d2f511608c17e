package notify

// Type names a kind of notification. The set is append-only: stored
// preferences and rows refer to these strings.
type Type string

// Billing events.
const (
	InvoiceIssued  Type = "invoice.issued"
	InvoicePaid    Type = "invoice.paid"
	InvoiceOverdue Type = "invoice.overdue"
	TopUpCompleted Type = "topup.completed"
	BudgetAlert    Type = "budget.alert"
	// TopUpFailed: a top-up the customer asked for could not be charged.
	TopUpFailed Type = "topup.failed"
	// AutoTopUpFailed: an automatic top-up could not be charged (it is
	// tried again); AutoTopUpDisabled: it was turned off after failures.
	AutoTopUpFailed   Type = "autotopup.failed"
	AutoTopUpDisabled Type = "autotopup.disabled"
	// PaymentFailed: a charge to the saved payment method failed;
	// PaymentActionRequired: the bank wants the customer to confirm it.
	PaymentFailed         Type = "payment.failed"
	PaymentActionRequired Type = "payment.action_required"
	// BudgetStopped: the budget's hard stop suspended services;
	// BudgetResumed: the budget no longer holds them.
	BudgetStopped Type = "budget.stopped"
	BudgetResumed Type = "budget.resumed"
	// OrderRefunded: an order that could not be provisioned was voided and
	// its payment returned to the account's credit.
	OrderRefunded Type = "order.refunded"
)

// Service events.
const (
	ServiceProvisioned Type = "service.provisioned"
	ServiceSuspended   Type = "service.suspended"
	ServiceFailed      Type = "service.failed"
	TaskFailed         Type = "task.failed"
	// ServiceInactive warns that a free-tier service will be terminated
	// for inactivity unless it is used.
	ServiceInactive Type = "service.inactive"
	// ServiceUnsuspended: the last suspension of a service was lifted.
	ServiceUnsuspended Type = "service.unsuspended"
	// ServiceTerminated: a service was ended for non-payment.
	ServiceTerminated Type = "service.terminated"
	// TaskSucceeded is sent only for tasks whose notify setting is always.
	TaskSucceeded Type = "task.succeeded"
	// TaskUnknown: a run was interrupted mid-call and the backend cannot
	// tell whether it acted; it was not repeated.
	TaskUnknown Type = "task.unknown"
	// Scheduled plan changes: a day before, applied, refused.
	PlanChangeReminder Type = "plan_change.reminder"
	PlanChangeApplied  Type = "plan_change.applied"
	PlanChangeFailed   Type = "plan_change.failed"
	// Auto-recovery: a service failing its health check was restarted (or
	// restarting it failed); it gave up after too many restarts.
	RecoveryRestarted Type = "recovery.restarted"
	RecoveryGaveUp    Type = "recovery.gave_up"
	// Cascade alerts (core/projects): a service this one depends on,
	// directly or through others, went down; it recovered.
	DependencyDown      Type = "dependency.down"
	DependencyRecovered Type = "dependency.recovered"
)

// Service transfers (core/transfers): a transfer was asked of the
// receiving account; it changed state (accepted, declined, cancelled,
// rejected, expired); it completed. Sent to owners and admins of both
// accounts as each step concerns them.
const (
	TransferRequested Type = "transfer.requested"
	TransferUpdated   Type = "transfer.updated"
	TransferCompleted Type = "transfer.completed"
)

// Enterprise requests (core/enterprise): staff quoted the account's
// request; it changed otherwise (submitted, accepted, declined, a service
// attached to its plan).
const (
	EnterpriseQuoted  Type = "enterprise.quoted"
	EnterpriseUpdated Type = "enterprise.updated"
	// EnterpriseStaff tells the staff who quote (admins and owners) that
	// a request arrived or a quote was accepted (status submitted or
	// accepted).
	EnterpriseStaff Type = "enterprise.staff"
)

// Security events: email and in-app cannot be turned off.
const (
	SecurityTwoFactorEnabled  Type = "security.2fa_enabled"
	SecurityTwoFactorDisabled Type = "security.2fa_disabled"
	SecurityPasswordChanged   Type = "security.password_changed"
	SecurityNewLogin          Type = "security.new_login"
)

// Account messages: email only, always sent, to the user's address even
// when it is not verified yet.
const (
	AccountVerifyEmail   Type = "account.verify_email"
	AccountPasswordReset Type = "account.password_reset"
	// AccountStaffInvite carries a new staff user's link to choose their
	// password (accounts.InviteStaff).
	AccountStaffInvite Type = "account.staff_invite"
)

// Announcement is a marketing message to customers (List-Unsubscribe,
// one-click unsubscribe, verified addresses only).
const Announcement Type = "announcement"

// AdminAlert goes to the operators' Discord webhook only (no user).
const AdminAlert Type = "admin.alert"

// ComplianceReviewDue tells the staff owners that a security policy's
// review or a vendor's assessment falls due soon (core/compliance).
const ComplianceReviewDue Type = "compliance.review_due"

// High-risk staff actions (core/approval): an action matching an alert
// policy ran (to owners); a request awaits approval (to the staff who may
// decide it); the requester's request was rejected or expired.
const (
	HighRiskAlert     Type = "high_risk.alert"
	ApprovalRequested Type = "approval.requested"
	ApprovalRejected  Type = "approval.rejected"
	ApprovalExpired   Type = "approval.expired"
)

// Channel is a way of delivering a notification.
type Channel string

// Channels.
const (
	ChannelInApp   Channel = "in_app"
	ChannelEmail   Channel = "email"
	ChannelDiscord Channel = "discord"
)

// Channels lists every channel, in display order.
var Channels = []Channel{ChannelInApp, ChannelEmail, ChannelDiscord}

// Category groups notifications in the notification center.
type Category string

// Categories.
const (
	CategoryBilling  Category = "billing"
	CategorySupport  Category = "support"
	CategorySystem   Category = "system"
	CategoryServices Category = "services"
)

// Categories lists every category.
var Categories = []Category{CategoryBilling, CategorySupport, CategorySystem, CategoryServices}

// Event is one thing to tell people about. Exactly one audience is set:
// AccountID (the account's members whose role concerns the event's
// category), UserIDs, or AllUsers (announcements). AdminAlert needs none.
type Event struct {
	Type Type
	// AccountID: billing events reach owners, admins and billing members;
	// service events owners, admins and technical members; other
	// categories every member. Also recorded on the in-app rows.
	AccountID string
	UserIDs   []string
	AllUsers  bool
	// Data feeds the type's templates (keys documented per type in
	// docs/notifications.md) and is stored with the in-app row.
	Data map[string]any
	// Link is a path under the public URL ("/billing/invoices/…") or an
	// absolute https URL; shown in-app and in messages.
	Link string
	// Key, when set, makes the event happen once: a second Notify with the
	// same key does nothing (e.g. "invoice.overdue:INV-1:day-7").
	Key string
}

// Result says what Notify wrote.
type Result struct {
	// Duplicate is true when Key was already notified (nothing written).
	Duplicate bool
	InApp     int
	// Messages counts outbox entries per channel.
	Messages map[Channel]int
}
