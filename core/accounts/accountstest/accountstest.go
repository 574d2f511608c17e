// Package accountstest makes the customers other packages' tests need
// through the accounts service, as a signup would, so no test writes the
// identity tables itself. It is accounts' own kit: what the service has no
// call for yet (a member added to an account) is written here and nowhere
// else. Imported by tests only.
package accountstest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

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

// Staff creates a staff user of role (support, admin, owner) whose email
// is email through the accounts service, as `ezscale admin create` does,
// and returns the user's id. Its password is Password.
func Staff(ctx context.Context, db *database.DB, email, role string) (string, error) {
	svc := accounts.New(db, quiet{}, ratelimit.New(db), accounts.DefaultOptions())
	u, err := svc.CreateStaff(ctx, email, Password, role)
	if err != nil {
		return "", fmt.Errorf("accountstest: creating staff %s: %w", email, err)
	}
	return u.ID, nil
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

// Member adds a user whose email is email to the account in role
// (technical, billing, …), as accepting an invitation would, and returns
// the user's id. The user's password is Password.
func Member(ctx context.Context, db *database.DB, accountID, email, role string) (string, error) {
	hash, err := passwordHash()
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	u := &accounts.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	err = db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(u).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewInsert().Model(&accounts.Membership{AccountID: accountID, UserID: u.ID, Role: role, CreatedAt: now}).Exec(ctx)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("accountstest: adding %s to %s: %w", email, accountID, err)
	}
	return u.ID, nil
}

// Join gives the user role (owner, technical, …) in the account too, as
// accepting an invitation would.
func Join(ctx context.Context, db *database.DB, accountID, userID, role string) error {
	m := &accounts.Membership{AccountID: accountID, UserID: userID, Role: role, CreatedAt: time.Now().UTC()}
	if _, err := db.NewInsert().Model(m).Exec(ctx); err != nil {
		return fmt.Errorf("accountstest: adding %s to %s: %w", userID, accountID, err)
	}
	return nil
}

// passwordHash is Password's hash, computed once: hashing is slow on
// purpose, and tests make users by the thousand.
var passwordHash = sync.OnceValues(func() (string, error) { return accounts.HashPassword(Password) })

// User makes a user whose email is email, verified, in no account, and
// returns its id. Its password is Password.
func User(ctx context.Context, db *database.DB, email string) (string, error) {
	ids, err := Users(ctx, db, []string{email})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// Users is User for many emails, in batches, returning the ids in the
// order of emails.
func Users(ctx context.Context, db *database.DB, emails []string) ([]string, error) {
	hash, err := passwordHash()
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	ids := make([]string, 0, len(emails))
	for start := 0; start < len(emails); start += 1000 {
		batch := make([]accounts.User, 0, min(len(emails)-start, 1000))
		for _, email := range emails[start:min(len(emails), start+1000)] {
			u := accounts.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, PasswordHash: hash, EmailVerifiedAt: &now, CreatedAt: now, UpdatedAt: now}
			batch = append(batch, u)
			ids = append(ids, u.ID)
		}
		if _, err := db.NewInsert().Model(&batch).Exec(ctx); err != nil {
			return nil, fmt.Errorf("accountstest: inserting users: %w", err)
		}
	}
	return ids, nil
}

// Team makes an account named name whose members are the users given
// with their roles (user id → role), and returns its id.
func Team(ctx context.Context, db *database.DB, name string, members map[string]string) (string, error) {
	now := time.Now().UTC()
	a := &accounts.Account{ID: uuid.Must(uuid.NewV7()).String(), Name: name, CreatedAt: now, UpdatedAt: now}
	err := db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(a).Exec(ctx); err != nil {
			return err
		}
		for userID, role := range members {
			m := &accounts.Membership{AccountID: a.ID, UserID: userID, Role: role, CreatedAt: now}
			if _, err := tx.NewInsert().Model(m).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("accountstest: making account %s: %w", name, err)
	}
	return a.ID, nil
}

// Unverify makes the user's email unverified again.
func Unverify(ctx context.Context, db *database.DB, userID string) error {
	if _, err := db.NewRaw("UPDATE users SET email_verified_at = NULL WHERE id = ?", userID).Exec(ctx); err != nil {
		return fmt.Errorf("accountstest: unverifying %s: %w", userID, err)
	}
	return nil
}

// Disable disables the user, as staff disabling them would.
func Disable(ctx context.Context, db *database.DB, userID string) error {
	if _, err := db.NewRaw("UPDATE users SET disabled_at = ? WHERE id = ?", time.Now().UTC(), userID).Exec(ctx); err != nil {
		return fmt.Errorf("accountstest: disabling %s: %w", userID, err)
	}
	return nil
}

// Secure sets the user's two-factor flag and, when verified, marks the
// email verified, as confirming the address and enrolling an
// authenticator would (without the secret).
func Secure(ctx context.Context, db *database.DB, userID string, verified, totp bool) error {
	q := db.NewUpdate().Table("users").Where("id = ?", userID).Set("totp_enabled = ?", totp)
	if verified {
		q = q.Set("email_verified_at = ?", time.Now().UTC())
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("accountstest: securing %s: %w", userID, err)
	}
	return nil
}

// Customer signs up a customer whose owner's email is email through svc
// (the API's accounts service) and logs the owner in, returning the
// account's id and the session's token for calls over HTTP.
func Customer(ctx context.Context, svc *accounts.Service, email string) (accountID, token string, err error) {
	_, acc, err := svc.Signup(ctx, accounts.SignupInput{Email: email, Password: Password, AccountName: "Test " + email})
	if err != nil {
		return "", "", fmt.Errorf("accountstest: signing up %s: %w", email, err)
	}
	token, err = login(ctx, svc, email)
	return acc.ID, token, err
}

// StaffSession creates a staff user of role through svc and logs it in,
// returning the session's token.
func StaffSession(ctx context.Context, svc *accounts.Service, email, role string) (string, error) {
	if _, err := svc.CreateStaff(ctx, email, Password, role); err != nil {
		return "", fmt.Errorf("accountstest: creating staff %s: %w", email, err)
	}
	return login(ctx, svc, email)
}

func login(ctx context.Context, svc *accounts.Service, email string) (string, error) {
	sess, _, err := svc.Login(ctx, accounts.LoginInput{Email: email, Password: Password})
	if err != nil {
		return "", fmt.Errorf("accountstest: logging %s in: %w", email, err)
	}
	return sess.Token, nil
}
