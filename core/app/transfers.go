package app

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/transfers"
)

// transferDirectory finds a transfer's receiving account through
// accounts: the accounts the user of an email owns.
type transferDirectory struct{ a *accounts.Service }

func (d transferDirectory) OwnedAccounts(ctx context.Context, email string) ([]transfers.Account, error) {
	u, err := d.a.UserByEmail(ctx, email)
	if apperr.CodeOf(err) == apperr.NotFound || (err == nil && u.StaffRole != nil) {
		return nil, nil // staff users own no customer account
	}
	if err != nil {
		return nil, err
	}
	ms, err := d.a.Memberships(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var out []transfers.Account
	for _, m := range ms {
		if m.Role == accounts.RoleOwner {
			out = append(out, transfers.Account{ID: m.AccountID, Name: m.AccountName})
		}
	}
	return out, nil
}

func (d transferDirectory) AccountName(ctx context.Context, id string) (string, error) {
	return d.a.AccountName(ctx, id)
}

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

var (
	_ transfers.Directory = transferDirectory{}
	_ transfers.Billing   = (*billing.Billing)(nil)
)
