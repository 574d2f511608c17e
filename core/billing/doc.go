// Package billing is the platform's billing domain: account billing
// profiles and the tax they pay, the terms each service is billed on
// (service_terms: cycle, price, paid period, coupon, a change scheduled for
// the end of the term), invoices, the account credit ledger (package
// ledger), plan changes with proration and the daily billing run. The
// service record, its status machine and suspensions are core/services',
// which billing drives through its calls (Deps.Services) and never
// queries. Card payments, top-ups, auto top-up, refunds and the gateway's
// webhooks are package payments, which billing starts only through its
// Payer interface and never imports. docs/billing.md is the operator's and
// integrator's guide; this comment is the developer's map.
//
// # Using it from other packages
//
// Build one *Billing with New, after core/services (Deps.Services); New
// registers its jobs in the registry and its reactions on core/services.
// payments.New and its Attach make payments its payer. The API other
// domains rely on (stable; additions only):
//
//   - Ledger() — the credit ledger: Post (inside your transaction), Lock,
//     Balance, Entries, Verify, and AddHook to react to every posting.
//   - Invoices: Invoice, Invoices, CreateManualInvoice, IssueInvoice,
//     VoidInvoice, MarkUncollectible; hooks OnInvoicesIssued
//     and OnInvoicePaid run inside the transaction that issues or pays
//     (the billing run issues in batches, hence slices).
//   - Services as billing shows them (Service: the record of core/services
//     and its Terms): Service, Services, ServiceAddons, Order, ChangePlan,
//     AddAddon, RemoveAddon, Cancel, Terminate, TerminateMany (staff bulk
//     termination, terminate_many.go), RetryProvisioning, AttachPrivatePlan;
//     hooks OnOrder, OnTransferIn, OnEnding, OnInvoiceLines. ServiceFacts
//     and AccountServiceFacts add what a service costs to core/services'
//     facts.
//   - New registers billing's own reactions on core/services: in_term
//     follows each status change (followStatus, terms.go), and a service
//     whose provisioning failed for good has its order's payment returned
//     to credit (refundOrder, provisioning.go).
//   - Credit: Adjust, ChargeCredit, ApplyCredit.
//   - For payments (payer.go), each in the caller's transaction: ProfileTx,
//     SetDefaultPaymentMethodTx, ClearDefaultPaymentMethodTx,
//     SetGatewayCustomerTx, AccountOfGatewayCustomerTx, InvoiceTx,
//     RecordChargeAttemptTx, CreditArrivedTx, ApplyCreditTx; and the
//     Payer it calls back (QueueChargesTx, AutoTopUpStep,
//     HasPaymentMethodTx).
//   - Runs: TriggerRun (queued), RunStepNow (synchronous), GetRun, Runs.
//
// Errors are *apperr.Error with the codes each method documents; anything
// else is internal.
//
// # Rules the code keeps
//
//   - Money is int64 minor units and a currency (package money); no float.
//   - Every state change and its audit event (appended last, see
//     core/txwork) and
//     the jobs it needs commit in one transaction.
//   - Billing calls no plugin. Provisioning, backend sync, charges and
//     refunds are jobs (core/provisioning's and payments') that record
//     their intent, call the plugin outside any transaction, then record
//     the outcome in a new one through billing's calls; each call
//     carries an idempotency key derived from what it is for (the service
//     id, invoice id + attempt, top-up id, refund id, state version), so a
//     retried job never acts twice.
//   - The database forbids what must never happen twice: one invoice per
//     (service, period start, reason) by a unique index, gap-free invoice
//     numbers from a counter row updated in the issuing transaction, coupon
//     limits (the catalog's, in the order's transaction) by conditional updates, a ledger key per account, one
//     application per webhook event id, a non-negative running balance.
//   - The billing run is a chain of steps, each its own job kind and each
//     idempotent over the current state, committing in batches.
//
// # Files
//
// catalog.go: what billing reads of the catalog (core/catalog: plans,
// add-ons, coupons, tax rates), always in the caller's transaction.
// profile.go: billing profiles and tax. services.go: orders and the
// services billing shows. terms.go: service_terms. lifecycle.go: payment
// effects (provisioning starts, renewals) and termination. provisioning.go:
// a failed provisioning's refund and staff's retry. invoices.go: invoices
// and numbering. credit.go: credit application and adjustments, and the
// account lock. changes.go: plan changes and proration. service_addons.go:
// add-ons added to and removed from a running service. facts.go: what a
// service costs, for other domains. payer.go: what billing asks of
// payments (Payer), the calls payments makes in its transactions, and the
// retry delays of the jobs about services and payments. run.go,
// generate.go, dunning.go, bulk.go: the billing run. txn.go: transactions
// with queued audit events and jobs (core/txwork).
package billing
