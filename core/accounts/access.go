package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/ezscale/platform/core/database"
)

// StaffAccess is one staff user's access as an access review records it.
type StaffAccess struct {
	UserID   string `json:"user_id" bun:"id"`
	Email    string `json:"email" bun:"email"`
	Role     string `json:"role" bun:"staff_role"`
	Disabled bool   `json:"disabled" bun:"disabled"`
	// LastLogin is when the user's latest login session began.
	LastLogin *time.Time `json:"last_login" bun:"last_login"`
	TwoFactor bool       `json:"two_factor" bun:"totp_enabled"`
	// APITokens counts the personal API tokens that still work (not
	// revoked, not expired); TokensLastUsed is the latest use of any of
	// the user's personal tokens.
	APITokens      int        `json:"api_tokens" bun:"api_tokens"`
	TokensLastUsed *time.Time `json:"tokens_last_used" bun:"tokens_last_used"`
}

// StaffAccess lists every staff user (disabled ones included), by email:
// role, last login, two-factor and personal API tokens. For access reviews.
func (s *Service) StaffAccess(ctx context.Context, now time.Time) ([]StaffAccess, error) {
	var out []StaffAccess
	err := s.reader(ctx).NewSelect().TableExpr("users AS u").
		ColumnExpr("u.id, u.email, u.staff_role, u.totp_enabled").
		ColumnExpr("(u.disabled_at IS NOT NULL) AS disabled").
		ColumnExpr("(SELECT MAX(t.created_at) FROM api_tokens AS t WHERE t.user_id = u.id AND t.kind = ?) AS last_login", KindSession).
		ColumnExpr(`(SELECT COUNT(*) FROM api_tokens AS t WHERE t.user_id = u.id AND t.kind = ? AND t.revoked_at IS NULL
			AND (t.expires_at IS NULL OR t.expires_at > ?)) AS api_tokens`, KindPersonal, now).
		ColumnExpr("(SELECT MAX(t.last_used_at) FROM api_tokens AS t WHERE t.user_id = u.id AND t.kind = ?) AS tokens_last_used", KindPersonal).
		Where("u.staff_role IS NOT NULL").Order("u.email").Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("accounts: listing staff access: %w", err)
	}
	return out, nil
}

// StaffWithRole returns the ids of the enabled staff users of role, by id.
func (s *Service) StaffWithRole(ctx context.Context, role string) ([]string, error) {
	var ids []string
	err := s.reader(ctx).NewSelect().Model((*User)(nil)).Column("id").Where("staff_role = ?", role).
		Where("disabled_at IS NULL").Order("id").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("accounts: listing %s staff: %w", role, err)
	}
	return ids, nil
}

// StaffRoleOf is the staff role of user id: "" when the user is not staff
// or does not exist.
func (s *Service) StaffRoleOf(ctx context.Context, id string) (string, error) {
	var role *string
	err := s.reader(ctx).NewSelect().Model((*User)(nil)).Column("staff_role").Where("id = ?", id).Scan(ctx, &role)
	if database.IsNoRows(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("accounts: reading the staff role of %s: %w", id, err)
	}
	if role == nil {
		return "", nil
	}
	return *role, nil
}
