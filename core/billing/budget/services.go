package budget

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/money"
)

// Reason is the suspension reason of the hard stop.
const Reason = "budget"

// Billing is what budget caps need of billing, whose tables they never
// query: what an account's services are and cost, the account's currency,
// and the credit ledger's position and spend.
type Billing interface {
	// ServiceFacts and AccountServiceFacts describe services as db sees
	// them (billing.ServiceFacts).
	ServiceFacts(ctx context.Context, db bun.IDB, serviceIDs []string) (map[string]billing.ServiceFact, error)
	AccountServiceFacts(ctx context.Context, db bun.IDB, accountID string, statuses ...string) ([]billing.ServiceFact, error)
	// Ledger is the account credit ledger (its position and spend).
	Ledger() *ledger.Ledger
	// AccountCurrency is the account's credit or billing profile currency
	// ("" when it has neither).
	AccountCurrency(ctx context.Context, db bun.IDB, accountID string) (money.Currency, error)
}

// Suspensions is what budget caps need of core/services: suspending and
// lifting services for the hard stop, and which of them it holds.
type Suspensions interface {
	// SuspendTx and UnsuspendTx suspend and lift a service for a reason,
	// inside the caller's transaction, each reporting whether anything
	// changed (a reason already in force, or not in force, is a no-op).
	// The status machine also tells the provisioner.
	SuspendTx(ctx context.Context, tx bun.Tx, serviceID, reason, note string) (bool, error)
	UnsuspendTx(ctx context.Context, tx bun.Tx, serviceID, reason string) (bool, error)
	// SuspendedFor lists the account's services a reason holds suspended.
	SuspendedFor(ctx context.Context, db bun.IDB, accountID, reason string) ([]string, error)
}

// TopUps is what budget caps need of payments (core/billing/payments): an
// automatic top-up is not the customer choosing to pay past their budget,
// so it does not override the hard stop.
type TopUps interface {
	// TopUpIsAutomatic reports whether a top-up was auto top-up's, as db
	// sees it.
	TopUpIsAutomatic(ctx context.Context, db bun.IDB, topUpID string) (bool, error)
}
