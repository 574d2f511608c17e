// Package budget is budget caps: an account's monthly spending limit, the
// alerts sent as spend crosses its thresholds, and the hard stop that
// suspends the account's services (all but the excluded ones) when spend
// reaches the limit, until the budget resets on its day of the month or the
// customer pays to override it.
//
// Spend is what the account paid from its credit in the period: the credit
// ledger's invoice payments and direct charges, less what voided or
// re-priced invoices gave back (ledger kinds invoice_payment, charge and
// invoice_credit). Card payments of invoices pass through the ledger, so
// they count too.
//
// A check (Service.Check) runs as a River job after every debit of an
// account that has a budget (the ledger hook), and for every budget at least
// daily and soon after its reset (the sweep). A check, in one transaction
// that holds the budget row:
//
//  1. sums the period's spend and records it in budget_periods;
//  2. records each crossed threshold in budget_alerts, whose primary key
//     (account, period, key) makes every alert fire once per period, and
//     sends one notification for the newly crossed ones;
//  3. evaluates the alert rule, if any, as one more once-per-period alert;
//  4. with the hard stop on and no override this period, suspends (reason
//     "budget") every active service that is not excluded and for which the
//     stop rule holds (by default spend_percent >= 100), and lifts budget
//     suspensions where it no longer holds (a new period, a raised limit, the
//     hard stop turned off, an override).
//
// Override: a card top-up or a payment made while the hard stop is in force
// marks the period overridden (the entry is recorded) and queues a check,
// which lifts the budget suspensions; the hard stop stays off until the
// budget resets.
//
// Rules are core/policy expressions of kind "budget" over Env, compiled when
// saved (Save answers Invalid with the position) and again at each check.
//
// Notifications go through the one function notify (core/notify events:
// budget.alert, budget.stopped, budget.resumed, to the account's owners,
// admins and billing members), and everything about services, the
// catalog and the ledger through the Services interface (billing): budget
// caps query only their own tables.
package budget
