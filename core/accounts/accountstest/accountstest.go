// Package accountstest makes the customers other packages' tests need
// through the accounts service, as a signup would, so no test writes the
// identity tables itself. Imported by tests only.
package accountstest

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/ratelimit"
)

// Password is the password of every user Account signs up.
const Password = "correct horse battery staple 7"

// quiet drops the verification message a signup sends.
type quiet struct{}

func (quiet) Notify(context.Context, bun.Tx, notify.Event) error { return nil }

// Account signs up a customer whose owner's email is email (the account
// named "Test " + email) and returns the account's id.
func Account(ctx context.Context, db *database.DB, email string) (string, error) {
	acc, _, err := Owner(ctx, db, email)
	return acc, err
}

// Owner is Account returning the owner's user id too.
func Owner(ctx context.Context, db *database.DB, email string) (accountID, userID string, err error) {
	svc := accounts.New(db, quiet{}, ratelimit.New(db), accounts.DefaultOptions())
	u, acc, err := svc.Signup(ctx, accounts.SignupInput{Email: email, Password: Password, AccountName: "Test " + email})
	if err != nil {
		return "", "", fmt.Errorf("accountstest: signing up %s: %w", email, err)
	}
	return acc.ID, u.ID, nil
}
