package compliance

import (
	"context"
	"time"

	"github.com/ezscale/platform/core/accounts"
)

// StaffDirectory reads staff users through accounts, which owns them.
func StaffDirectory(a *accounts.Service) Directory { return accountsDirectory{a: a} }

type accountsDirectory struct{ a *accounts.Service }

func (d accountsDirectory) StaffAccess(ctx context.Context, now time.Time) ([]StaffMember, error) {
	rows, err := d.a.StaffAccess(ctx, now)
	if err != nil {
		return nil, err
	}
	out := make([]StaffMember, len(rows))
	for i, r := range rows {
		out[i] = StaffMember{UserID: r.UserID, Email: r.Email, Role: r.Role, Disabled: r.Disabled, LastLogin: r.LastLogin,
			TwoFactor: r.TwoFactor, APITokens: r.APITokens, TokensLastUsed: r.TokensLastUsed}
	}
	return out, nil
}

func (d accountsDirectory) StaffRole(ctx context.Context, id string) (string, error) {
	return d.a.StaffRoleOf(ctx, id)
}

func (d accountsDirectory) Owners(ctx context.Context) ([]string, error) {
	return d.a.StaffWithRole(ctx, accounts.StaffOwner)
}
