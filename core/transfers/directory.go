package transfers

import (
	"context"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
)

// AccountsDirectory is the Directory over the accounts service, the one
// core/app wires and the tests use. A receiver is a customer user found by
// email and the accounts it owns. A staff user owns no customer account
// here, even one it was made owner of: a transfer hands a customer's service
// to another customer, never to the staff who approve transfers.
type AccountsDirectory struct{ Accounts *accounts.Service }

var _ Directory = AccountsDirectory{}

// OwnedAccounts returns the accounts the customer user with this email
// owns, by account name then id (as accounts lists memberships); none for
// an unknown email or a staff user.
func (d AccountsDirectory) OwnedAccounts(ctx context.Context, email string) ([]Account, error) {
	u, err := d.Accounts.UserByEmail(ctx, email)
	if apperr.CodeOf(err) == apperr.NotFound || (err == nil && u.StaffRole != nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ms, err := d.Accounts.Memberships(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var out []Account
	for _, m := range ms {
		if m.Role == accounts.RoleOwner {
			out = append(out, Account{ID: m.AccountID, Name: m.AccountName})
		}
	}
	return out, nil
}

// AccountName returns an account's display name.
func (d AccountsDirectory) AccountName(ctx context.Context, id string) (string, error) {
	return d.Accounts.AccountName(ctx, id)
}
