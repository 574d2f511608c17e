package accounts

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/audit"
)

// sealBatch is how many users' secrets are re-sealed per transaction.
const sealBatch = 500

// SealSecrets seals under the current key the stored TOTP secrets that are
// plaintext (kept before encryption at rest; `ezscale serve` and every
// command that opens the platform do this at start) and, with rotate, also
// those sealed under a previous key (`ezscale secrets rotate`). It returns
// how many it sealed, and records one audit event when that is not zero.
// Without a keyring it fails if any secret is stored, because those could
// be neither read nor protected. Each row is updated only if it still holds
// the value read, so replicas doing this at once do not clash.
func (s *Service) SealSecrets(ctx context.Context, rotate bool) (int, error) {
	k := s.opts.Secrets
	if k == nil {
		n, err := s.db.NewSelect().Model((*User)(nil)).Where("totp_secret IS NOT NULL").Count(ctx)
		if err != nil {
			return 0, fmt.Errorf("accounts: counting two-factor secrets: %w", err)
		}
		if n > 0 {
			return 0, fmt.Errorf("accounts: %d user(s) have two-factor secrets, and no secrets key is configured: set auth.secrets_key (EZSCALE_AUTH_SECRETS_KEY)", n)
		}
		return 0, nil
	}
	sealed, plaintext, after := 0, 0, ""
	for {
		var rows []User
		if err := s.db.NewSelect().Model(&rows).Column("id", "totp_secret").Where("totp_secret IS NOT NULL").
			Where("id > ?", after).Order("id ASC").Limit(sealBatch).Scan(ctx); err != nil {
			return sealed, fmt.Errorf("accounts: reading two-factor secrets: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		after = rows[len(rows)-1].ID
		type change struct{ id, old, new string }
		var changes []change
		for _, u := range rows {
			old := *u.TOTPSecret
			var secret string
			switch {
			case !isSealed(old):
				secret = old
				plaintext++
			case rotate && !k.sealedUnderCurrent(old):
				var err error
				if secret, err = k.Open(old, totpAAD(u.ID)); err != nil {
					return sealed, fmt.Errorf("accounts: user %s: %w", u.ID, err)
				}
			default:
				continue
			}
			changes = append(changes, change{id: u.ID, old: old, new: k.Seal(secret, totpAAD(u.ID))})
		}
		if len(changes) == 0 {
			continue
		}
		err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			for _, c := range changes {
				res, err := tx.NewUpdate().Model((*User)(nil)).Set("totp_secret = ?", c.new).
					Where("id = ?", c.id).Where("totp_secret = ?", c.old).Exec(ctx)
				if err != nil {
					return fmt.Errorf("accounts: sealing a two-factor secret: %w", err)
				}
				if n, _ := res.RowsAffected(); n == 1 {
					sealed++
				}
			}
			return nil
		})
		if err != nil {
			return sealed, err
		}
	}
	if sealed == 0 {
		return 0, nil
	}
	err := audit.Log(ctx, s.db, audit.Event{Action: "secrets.seal", TargetType: "secrets_key", TargetID: k.KeyID(),
		Changes: map[string]any{"sealed": sealed, "were_plaintext": plaintext, "rotate": rotate}})
	return sealed, err
}

// SecretsKeyID names the key secrets are sealed under ("" without one).
func (s *Service) SecretsKeyID() string {
	if s.opts.Secrets == nil {
		return ""
	}
	return s.opts.Secrets.KeyID()
}
