package app

// wireReactions registers every reaction that runs inside another domain's
// transaction: what happens, in the same commit, when billing takes an
// order or posts to an account's credit ledger, when core/services changes
// a service's status, and when auto-recovery sees a service's health
// change. Read with billing's Order (core/billing/services.go) and the
// status machine (core/services/status.go, SetStatusIn), this file is the
// whole of what an order does. Hooks of one kind run in the order
// registered here, after billing's own (below).
//
// Billing's own bookkeeping of the services it bills, registered by
// billing.New because billing is wrong without it: every status change
// keeps service_terms.in_term (the renewal and dunning scans read it), and
// a service whose provisioning fails for good has its paid order voided
// and the payment returned to credit (services.OnProvisioningFailed, which
// takes the account's balance lock before the service's row).
//
// Billing and payments (payments.Attach, core/billing/payments): an
// invoice issued due, and the billing run's charge step, queue a charge of
// the account's default card (billing.Payer); the run's auto_topup step is
// payments'; a paid service's transfer needs a saved card on the receiving
// account; and after a debit of the credit ledger, an account below its
// auto top-up threshold gets a check (the first ledger hook).
//
// An order (billing.OnOrder), after the service row is written:
//  1. budget caps refuse a service the account's hard stop would suspend
//     at once (budget.AdmitOrder, core/billing/budget/order.go);
//  2. the free tier admits the service or refuses the order
//     (core/provisioning/freetier.go).
//
// A service transfer accepted by the receiver or completed
// (billing.OnTransferIn): budget caps refuse a service that would push the
// receiving account over its hard cap (budget.AdmitTransfer,
// core/billing/budget/order.go).
//
// A posting to the credit ledger (ledger hooks): budget caps queue a check
// after a debit and end an override when the account pays
// (budget.LedgerHook).
//
// A signup (accounts.OnSignup): the Discord community schedules the new
// user's invite (community.OnSignup).
//
// Before a customer's cancellation or a staff termination
// (billing.OnEnding): projects' termination guard refuses to end a service
// others depend on unless the request confirms it (projects.CheckEnd).
//
// Invoice lines being written (billing.OnInvoiceLines): each line of a
// service records the service's project (projects.ProjectsOf). Both are
// registered by projects.AttachBilling (core/projects/billing.go).
//
// A service's status change (services.OnStatus):
//  1. budget caps check the account when a service starts
//     (budget.ServiceStarted);
//  2. the account's members' Discord roles are synced again
//     (community.RequestRoleSync, through the services' holdings);
//  3. projects record an outage starting or ending, for cascade alerts
//     (projects.ServiceStatusChanged, registered in core/app/projects.go);
//  4. a free-tier slot ends with its service (core/provisioning).
//
// Auto-recovery's health change (scheduler.OnHealth): projects record an
// outage starting or ending. Game-server monitoring raises its own (a
// listing showing a running server down, and up again) through the same
// hooks (scheduler.ReportHealth, wired in core/app/monitoring.go).
//
// A user's deletion (accounts.DeleteUser): core/services counts the live
// services of the accounts the user alone owns, which refuse it
// (services.LiveServiceCounts).
//
// A service transfer's completion (transfers.OnComplete, after billing has
// moved the service and settled it; core/app/transfers.go):
//  1. the scheduler moves the service's tasks, their runs, its recovery
//     settings and scheduled plan changes to the receiver;
//  2. projects take the service out of the sender's project and remove its
//     dependency edges.
func (a *App) wireReactions() {
	a.Payments.Attach(a.Billing)
	a.Budgets.Attach(a.Billing, a.Services)
	a.Accounts.OnSignup(a.Community.OnSignup)
	a.Accounts.CountLiveServicesWith(a.Services)
	a.Services.SyncRolesOn(a.Community)
	a.Projects.AttachBilling(a.Billing)
	watchOutages(a.Services, a.Scheduler, a.Projects)
	a.Provisioning.Attach(a.Billing)
	a.wireTransfers()
}
