package accounts

import (
	"context"
	"fmt"
	"slices"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/notify"
)

// LiveServices counts the live services (pending, provisioning, active,
// suspended) of accounts, in db: the caller's transaction (core/billing).
type LiveServices interface {
	LiveServiceCounts(ctx context.Context, db bun.IDB, accountIDs []string) (map[string]int, error)
}

// CountLiveServicesWith sets who counts an account's live services when a
// user is deleted (core/app wires billing). Without it DeleteUser refuses
// to delete the sole owner of any account.
func (s *Service) CountLiveServicesWith(l LiveServices) { s.live = l }

// mayManageStaff checks that p may create staff and change staff roles:
// staff owners and the operator only.
func mayManageStaff(p *Principal) error {
	if p == Operator || p.IsStaff(StaffOwner) {
		return nil
	}
	return apperr.New(apperr.Forbidden, "staff owner role required")
}

// lockOwners locks the enabled staff owners in id order, so two concurrent
// changes of the last two owners cannot both see the other one still
// there (and cannot deadlock).
func lockOwners(ctx context.Context, tx bun.Tx) ([]string, error) {
	var owners []string
	if err := database.ForUpdate(tx.NewSelect().Model((*User)(nil)).Column("id").
		Where("staff_role = ?", StaffOwner).Where("disabled_at IS NULL").Order("id")).Scan(ctx, &owners); err != nil {
		return nil, fmt.Errorf("accounts: locking owners: %w", err)
	}
	return owners, nil
}

// isLastOwner reports whether u is the one enabled staff owner left among
// owners (lockOwners).
func isLastOwner(u *User, owners []string) bool {
	return rankOf(u) == staffRank[StaffOwner] && u.DisabledAt == nil && len(owners) <= 1
}

// InviteStaff creates a staff user of role and emails them a single-use
// link (account.staff_invite, valid Options.ResetTokenTTL) to choose their
// password: nobody else ever knows it. Until they do, the user cannot log
// in; an expired link is replaced by the ordinary password reset. Staff
// owners only. Errors: Forbidden, Invalid (email, role), Conflict
// (email_taken).
func (s *Service) InviteStaff(ctx context.Context, p *Principal, email, role string) (*User, error) {
	if err := mayManageStaff(p); err != nil {
		return nil, err
	}
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return nil, err
	}
	if _, ok := staffRank[role]; !ok {
		return nil, apperr.Field("role", "must be support, admin or owner")
	}
	// A password nobody knows until the invitee sets theirs.
	hash, err := HashPassword(newSecret(prefixOneTime))
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &User{ID: newID(), Email: email, PasswordHash: hash, StaffRole: &role, CreatedAt: now, UpdatedAt: now}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(u).Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.New(apperr.Conflict, "a user with this email already exists").WithReason("email_taken")
			}
			return fmt.Errorf("accounts: inserting staff user: %w", err)
		}
		secret, err := s.newLink(ctx, tx, u.ID, purposeReset)
		if err != nil {
			return err
		}
		if err := s.notify.Notify(ctx, tx, notify.Event{Type: notify.AccountStaffInvite, UserIDs: []string{u.ID}, Data: map[string]any{
			"link": s.link("/reset-password", secret), "token": secret, "expires_in": s.opts.ResetTokenTTL.String(), "role": role,
		}}); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{
			Action: "staff.create", TargetType: "user", TargetID: u.ID,
			Changes: map[string]any{"email": email, "staff_role": role, "invited": true},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// SetStaffRole changes a staff user's role; role "" removes their staff
// role (the login stays, with the customer accounts it belongs to, and
// every session and token it had is revoked). Staff owners only, never on
// themselves; an owner may demote another owner (only owners manage
// staff), but the last enabled owner is never demoted nor removed.
// Errors: Forbidden, NotFound, Invalid (role), Conflict (not_staff,
// last_owner, own standing).
func (s *Service) SetStaffRole(ctx context.Context, p *Principal, userID, role string) (*User, error) {
	if err := mayManageStaff(p); err != nil {
		return nil, err
	}
	if _, ok := staffRank[role]; !ok && role != "" {
		return nil, apperr.Field("role", "must be support, admin or owner")
	}
	var out *User
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		owners, err := lockOwners(ctx, tx)
		if err != nil {
			return err
		}
		u, err := s.lockUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if u.StaffRole == nil {
			return apperr.New(apperr.Conflict, "the user is not staff").WithReason("not_staff")
		}
		if p != Operator && u.ID == p.UserID {
			return apperr.New(apperr.Conflict, "you cannot change your own standing")
		}
		old := *u.StaffRole
		if old == role {
			out = u
			return nil
		}
		if role != StaffOwner && isLastOwner(u, owners) {
			return apperr.New(apperr.Conflict, "the last staff owner keeps the owner role; make another owner first").WithReason("last_owner")
		}
		now := s.now()
		q := tx.NewUpdate().Model((*User)(nil)).Set("updated_at = ?", now).Where("id = ?", u.ID)
		action := "staff.role_change"
		if role == "" {
			q = q.Set("staff_role = NULL")
			action = "staff.delete"
		} else {
			q = q.Set("staff_role = ?", role)
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("accounts: changing staff role: %w", err)
		}
		changes := map[string]any{"email": u.Email, "staff_role": map[string]any{"old": old, "new": role}}
		if role == "" {
			n, err := s.revokeAllTokens(ctx, tx, u.ID)
			if err != nil {
				return err
			}
			changes["revoked_personal_tokens"] = n
			u.StaffRole = nil
		} else {
			u.StaffRole = &role
		}
		out = u
		_, err = audit.Append(ctx, tx, audit.Event{Action: action, TargetType: "user", TargetID: u.ID, Changes: changes})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DisableTOTPFor turns off another user's two-factor authentication (they
// lost their device): staff admins and owners, on users of a strictly
// lower role. Their recovery codes go too; the user is told through the
// security notification they cannot mute. The user's own flow
// (DisableTOTP) is unchanged. Errors: Forbidden (staff_hierarchy),
// NotFound, Conflict (totp_disabled).
func (s *Service) DisableTOTPFor(ctx context.Context, p *Principal, userID string) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := s.lockUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := mayActOn(p, u); err != nil {
			return err
		}
		if !u.TOTPEnabled {
			return apperr.New(apperr.Conflict, "two-factor authentication is not on").WithReason("totp_disabled")
		}
		if _, err := tx.NewUpdate().Model((*User)(nil)).Set("totp_enabled = ?", false).Set("totp_secret = NULL").
			Set("updated_at = ?", s.now()).Where("id = ?", u.ID).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: disabling totp: %w", err)
		}
		if _, err := tx.NewDelete().Model((*recoveryCode)(nil)).Where("user_id = ?", u.ID).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: deleting recovery codes: %w", err)
		}
		if err := s.securityWith(ctx, tx, u.ID, notify.SecurityTwoFactorDisabled, "", "", map[string]any{"by_staff": true}); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "user.2fa.disable", TargetType: "user", TargetID: u.ID,
			Changes: map[string]any{"email": u.Email, "by_staff": true}})
		return err
	})
}

// DeleteUser deletes a user by anonymizing them: the row stays (audit
// events, invoices and approvals point at it) but loses its address,
// password, second factor, staff role, memberships, sessions and tokens,
// and is disabled for good. Accounts the user belonged to keep their
// services, invoices and credit. Deleting the sole owner of an account
// that has live services is refused (sole_owner_live_services): staff
// terminate or transfer those services, or the customer makes another
// member owner, first. Staff admins and owners, on users of a strictly
// lower role (never themselves); the last enabled staff owner is never
// deleted. Deleting a deleted user does nothing. Errors: Forbidden
// (staff_hierarchy), NotFound, Conflict (last_owner,
// sole_owner_live_services).
func (s *Service) DeleteUser(ctx context.Context, p *Principal, userID string) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		owners, err := lockOwners(ctx, tx)
		if err != nil {
			return err
		}
		u, err := s.lockUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := mayActOn(p, u); err != nil {
			return err
		}
		if u.DeletedAt != nil {
			return nil
		}
		if isLastOwner(u, owners) {
			return apperr.New(apperr.Conflict, "the last staff owner cannot be deleted").WithReason("last_owner")
		}
		var ms []Membership
		if err := tx.NewSelect().Model(&ms).Column("account_id", "user_id", "role").Where("user_id = ?", u.ID).Order("account_id").Scan(ctx); err != nil {
			return fmt.Errorf("accounts: loading memberships: %w", err)
		}
		var sole []string
		for _, m := range ms {
			if m.Role != RoleOwner {
				continue
			}
			n, err := tx.NewSelect().Model((*Membership)(nil)).Where("account_id = ?", m.AccountID).
				Where("role = ?", RoleOwner).Where("user_id <> ?", u.ID).Count(ctx)
			if err != nil {
				return fmt.Errorf("accounts: counting owners: %w", err)
			}
			if n == 0 {
				sole = append(sole, m.AccountID)
			}
		}
		if len(sole) > 0 {
			var live map[string]int
			if s.live != nil {
				if live, err = s.live.LiveServiceCounts(ctx, tx, sole); err != nil {
					return err
				}
			}
			var blocking []string
			for _, id := range sole {
				if s.live == nil || live[id] > 0 {
					blocking = append(blocking, id)
				}
			}
			if len(blocking) > 0 {
				slices.Sort(blocking)
				return apperr.New(apperr.Conflict, "the user is the only owner of account %s, which has live services; terminate or transfer them, or make another member owner, first", blocking[0]).
					WithReason("sole_owner_live_services")
			}
		}
		// A password nobody knows: the row still parses as a user.
		hash, err := HashPassword(newSecret(prefixOneTime))
		if err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.NewUpdate().Model((*User)(nil)).
			Set("email = ?", "deleted-"+u.ID+"@deleted.invalid").
			Set("password_hash = ?", hash).
			Set("email_verified_at = NULL").Set("totp_enabled = ?", false).Set("totp_secret = NULL").
			Set("staff_role = NULL").Set("disabled_at = COALESCE(disabled_at, ?)", now).
			Set("deleted_at = ?", now).Set("updated_at = ?", now).
			Where("id = ?", u.ID).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: deleting user: %w", err)
		}
		for _, del := range []struct {
			model any
			what  string
		}{{(*recoveryCode)(nil), "recovery codes"}, {(*oneTimeToken)(nil), "links"}, {(*Membership)(nil), "memberships"}} {
			if _, err := tx.NewDelete().Model(del.model).Where("user_id = ?", u.ID).Exec(ctx); err != nil {
				return fmt.Errorf("accounts: deleting %s: %w", del.what, err)
			}
		}
		if _, err := s.revokeAllTokens(ctx, tx, u.ID); err != nil {
			return err
		}
		memberships := make([]map[string]any, len(ms))
		for i, m := range ms {
			memberships[i] = map[string]any{"account_id": m.AccountID, "role": m.Role}
		}
		changes := standing(u)
		changes["memberships"] = memberships
		_, err = audit.Append(ctx, tx, audit.Event{Action: "user.delete", TargetType: "user", TargetID: u.ID, Changes: changes})
		return err
	})
}
