package accounts

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/ratelimit"
)

const (
	purposeVerify = "verify_email"
	purposeReset  = "reset_password"
)

// newLink stores a single-use token for purpose and returns its secret.
func (s *Service) newLink(ctx context.Context, tx bun.Tx, userID, purpose string) (string, error) {
	secret := newSecret(prefixOneTime)
	now := s.now()
	// One live link per purpose: a new one invalidates the previous.
	if _, err := tx.NewUpdate().Model((*oneTimeToken)(nil)).Set("used_at = ?", now).
		Where("user_id = ?", userID).Where("purpose = ?", purpose).Where("used_at IS NULL").Exec(ctx); err != nil {
		return "", fmt.Errorf("accounts: expiring old links: %w", err)
	}
	t := &oneTimeToken{ID: newID(), UserID: userID, Purpose: purpose, TokenHash: hashSecret(secret), CreatedAt: now, ExpiresAt: now.Add(s.opts.ResetTokenTTL)}
	if _, err := tx.NewInsert().Model(t).Exec(ctx); err != nil {
		return "", fmt.Errorf("accounts: storing link: %w", err)
	}
	return secret, nil
}

// consumeLink marks the token used and returns its user, or an Invalid error
// naming field when it is unknown, used or expired.
func (s *Service) consumeLink(ctx context.Context, tx bun.Tx, field, secret, purpose string) (string, error) {
	var userID string
	err := tx.NewUpdate().Model((*oneTimeToken)(nil)).Set("used_at = ?", s.now()).
		Where("token_hash = ?", hashSecret(strings.TrimSpace(secret))).Where("purpose = ?", purpose).
		Where("used_at IS NULL").Where("expires_at > ?", s.now()).
		Returning("user_id").Scan(ctx, &userID)
	if database.IsNoRows(err) {
		return "", apperr.Field(field, "is invalid, already used or expired")
	}
	if err != nil {
		return "", fmt.Errorf("accounts: consuming link: %w", err)
	}
	return userID, nil
}

// linkFailed audits a refused link (an Invalid error from consumeLink: an
// unknown, used or expired token); other errors pass through. The event is
// detached, so it outlives the request's rollback.
func (s *Service) linkFailed(ctx context.Context, action string, err error) error {
	if apperr.CodeOf(err) != apperr.Invalid {
		return err
	}
	return s.reauthFailed(ctx, action, "", "invalid_token", err)
}

func (s *Service) link(path, secret string) string {
	return strings.TrimRight(s.opts.PublicURL, "/") + path + "?token=" + url.QueryEscape(secret)
}

func (s *Service) sendVerification(ctx context.Context, tx bun.Tx, u *User) error {
	secret, err := s.newLink(ctx, tx, u.ID, purposeVerify)
	if err != nil {
		return err
	}
	return s.notify.Notify(ctx, tx, notify.Event{Type: notify.AccountVerifyEmail, UserIDs: []string{u.ID}, Data: map[string]any{
		"link": s.link("/verify-email", secret), "token": secret, "expires_in": s.opts.ResetTokenTTL.String(),
	}})
}

// ResendVerification sends a new verification link. Errors: Conflict when
// the address is already verified.
func (s *Service) ResendVerification(ctx context.Context, p *Principal) error {
	u, err := s.User(ctx, p.UserID)
	if err != nil {
		return err
	}
	if u.EmailVerifiedAt != nil {
		return apperr.New(apperr.Conflict, "the email address is already verified").WithReason("already_verified")
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := s.sendVerification(ctx, tx, u); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "user.email.verification_sent", TargetType: "user", TargetID: u.ID})
		return err
	})
}

// VerifyEmail marks the address of the token's user verified.
// Errors: Invalid (field token).
func (s *Service) VerifyEmail(ctx context.Context, token string) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		userID, err := s.consumeLink(ctx, tx, "token", token, purposeVerify)
		if err != nil {
			return s.linkFailed(ctx, "user.email.verify", err)
		}
		if _, err := tx.NewUpdate().Model((*User)(nil)).Set("email_verified_at = ?", s.now()).Set("updated_at = ?", s.now()).
			Where("id = ?", userID).Where("email_verified_at IS NULL").Exec(ctx); err != nil {
			return fmt.Errorf("accounts: verifying email: %w", err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "user.email.verify", TargetType: "user", TargetID: userID, ActorType: audit.ActorUser, ActorID: userID})
		return err
	})
}

// RequestPasswordReset emails a reset link when the address belongs to a
// user. It answers the same either way, so it cannot be used to find out who
// has an account; it is rate-limited by the caller per IP. Beyond
// Options.ResetEmailLimit links per recipient per ResetEmailWindow it sends
// nothing and still answers the same, so nobody can flood a mailbox from
// many addresses, nor learn that a limit was reached.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	u := &User{}
	err := s.reader(ctx).NewSelect().Model(u).Where("email = ?", email).Where("disabled_at IS NULL").Scan(ctx)
	if database.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("accounts: loading user: %w", err)
	}
	n, _, err := s.limiter.Count(ctx, "reset:user:"+u.ID, ratelimit.Rule{Limit: s.opts.ResetEmailLimit, Window: s.opts.ResetEmailWindow})
	if err != nil {
		return err
	}
	if n > s.opts.ResetEmailLimit {
		if n == s.opts.ResetEmailLimit+1 {
			// Recorded once per window: a flood leaves one event.
			return audit.Log(ctx, s.db, audit.Event{Action: "user.password.reset_requested", Result: audit.Denied,
				TargetType: "user", TargetID: u.ID, Changes: map[string]any{"reason": "recipient_limit"}})
		}
		return nil
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		secret, err := s.newLink(ctx, tx, u.ID, purposeReset)
		if err != nil {
			return err
		}
		if err := s.notify.Notify(ctx, tx, notify.Event{Type: notify.AccountPasswordReset, UserIDs: []string{u.ID}, Data: map[string]any{
			"link": s.link("/reset-password", secret), "token": secret, "expires_in": s.opts.ResetTokenTTL.String(),
		}}); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "user.password.reset_requested", TargetType: "user", TargetID: u.ID})
		return err
	})
}

// ResetPassword sets a new password from a reset token and revokes every
// session and every personal API token. Errors: Invalid.
func (s *Service) ResetPassword(ctx context.Context, token, password string) error {
	if perr := checkPassword("new_password", password, ""); perr != nil {
		return perr
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		userID, err := s.consumeLink(ctx, tx, "token", token, purposeReset)
		if err != nil {
			return s.linkFailed(ctx, "user.password.reset", err)
		}
		// Receiving the link proves the address too.
		if _, err := tx.NewUpdate().Model((*User)(nil)).Set("password_hash = ?", hash).Set("updated_at = ?", s.now()).
			Set("email_verified_at = COALESCE(email_verified_at, ?)", s.now()).
			Where("id = ?", userID).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: resetting password: %w", err)
		}
		// Whoever knew the old password may have minted tokens with it:
		// recovery ends every session and every personal token.
		revoked, err := s.revokeAllTokens(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := s.securityWith(ctx, tx, userID, notify.SecurityPasswordChanged, "", "", map[string]any{"tokens": []map[string]any{}, "reset": true}); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "user.password.reset", TargetType: "user", TargetID: userID, ActorType: audit.ActorUser, ActorID: userID,
			Changes: map[string]any{"tokens_revoked": revoked}})
		return err
	})
}
