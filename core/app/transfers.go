package app

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/transfers"
)

func transfersOptions(cfg *config.Config) transfers.Options {
	tc := cfg.Transfers
	o := transfers.DefaultOptions()
	o.RequireStaffApproval, o.TTL, o.SweepInterval = tc.RequireStaffApproval, tc.TTL, tc.SweepInterval
	return o
}

// wireTransfers registers what moves with a transferred service, in the
// completing transaction: the scheduler's tasks, runs and recovery
// settings; projects' membership and dependencies (listed in
// reactions.go).
func (a *App) wireTransfers() {
	a.Transfers.OnComplete("scheduler", func(ctx context.Context, tx bun.Tx, serviceID, _, to string) (any, error) {
		return a.Scheduler.TransferServiceTx(ctx, tx, serviceID, to)
	})
	a.Transfers.OnComplete("projects", func(ctx context.Context, tx bun.Tx, serviceID, from, to string) (any, error) {
		return a.Projects.TransferServiceTx(ctx, tx, serviceID, from, to)
	})
}

var _ transfers.Billing = (*billing.Billing)(nil)
