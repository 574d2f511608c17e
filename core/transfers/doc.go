// Package transfers moves a service from one customer account to another
// (docs/transfers.md).
//
// It owns the service_transfers table; no other package reads it. A
// transfer goes through these states:
//
//	pending ──accept──▶ accepted ──approve (staff)──▶ completed
//	   │  └─accept, no staff approval configured──────▶ completed
//	   ├─decline (receiver)──▶ declined
//	   ├─cancel (sender)─────▶ cancelled ◀──cancel (sender)── accepted
//	   └─past expires_at─────▶ expired   ◀──past expires_at── accepted
//	                                        accepted ──reject (staff)──▶ rejected
//
// The sender is an owner or admin of the account that has the service; the
// receiver is the account owned by the user of the email the sender names
// (or the one of them the sender names when that user owns several).
// Completion is one transaction: billing moves the service and settles it
// by proration (billing.TransferServiceTx), then every mover registered
// with OnComplete (the scheduler's tasks and recovery settings, projects'
// membership and dependencies; core/app/reactions.go) runs, the transfer is
// marked completed, both accounts are notified and the change audited. A
// completion retried or replayed finds the transfer completed and does
// nothing: the service moves and the sender is credited once.
//
// Billing is reached through the Billing interface, accounts through
// Directory; both are wired in core/app, Directory as AccountsDirectory
// (directory.go), the one the tests use too.
package transfers
