package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
)

// Scopes a personal API token can carry. A route names the scope it needs;
// session tokens have them all. Staff scopes are granted only to staff.
var (
	CustomerScopes = []string{"account:read", "account:write", "billing:read", "billing:write", "services:read", "services:write"}
	StaffScopes    = []string{"admin:read", "admin:write"}
)

const maxTokenName = 100

// NewToken is a created personal token; Secret is shown exactly once.
type NewToken struct {
	Token  *APIToken
	Secret string
}

// CreateToken issues a personal API token for the principal's user.
// Errors: Invalid (name, scopes, expires_at).
func (s *Service) CreateToken(ctx context.Context, p *Principal, name string, scopes []string, expiresAt *time.Time) (*NewToken, error) {
	var fields apperr.Fields
	name = strings.TrimSpace(name)
	if name == "" || len(name) > maxTokenName {
		fields.Add("name", "must be 1 to %d characters", maxTokenName)
	}
	if len(scopes) == 0 {
		fields.Add("scopes", "must name at least one scope")
	}
	seen := map[string]bool{}
	for i, sc := range scopes {
		switch {
		case slices.Contains(CustomerScopes, sc):
		case slices.Contains(StaffScopes, sc):
			if p.StaffRole == "" {
				fields.Add(fmt.Sprintf("scopes[%d]", i), "%q is for staff only", sc)
			}
		default:
			fields.Add(fmt.Sprintf("scopes[%d]", i), "unknown scope %q", sc)
		}
		if seen[sc] {
			fields.Add(fmt.Sprintf("scopes[%d]", i), "duplicate scope %q", sc)
		}
		seen[sc] = true
	}
	// A token cannot hand out more than the token that creates it.
	if p.TokenKind != KindSession {
		fields.Add("scopes", "personal tokens are created with a session (log in), not with another token")
	}
	now := s.now()
	if expiresAt != nil && !expiresAt.After(now) {
		fields.Add("expires_at", "must be in the future")
	}
	if err := fields.Err(); err != nil {
		return nil, err
	}
	secret := newSecret(prefixPersonal)
	t := &APIToken{
		ID: newID(), UserID: p.UserID, Kind: KindPersonal, Name: name, TokenHash: hashSecret(secret),
		Prefix: secret[:len(prefixPersonal)+4], Scopes: strings.Join(scopes, " "), CreatedAt: now, ExpiresAt: expiresAt,
	}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(t).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: inserting token: %w", err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "api_token.create", TargetType: "api_token", TargetID: t.ID,
			Changes: map[string]any{"name": name, "scopes": scopes}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &NewToken{Token: t, Secret: secret}, nil
}

// ListTokens returns the user's live personal tokens in id order (ids are
// time-ordered), after the cursor id.
func (s *Service) ListTokens(ctx context.Context, p *Principal, after string, limit int) ([]APIToken, error) {
	var out []APIToken
	q := s.db.Read.NewSelect().Model(&out).Where("user_id = ?", p.UserID).Where("kind = ?", KindPersonal).
		Where("revoked_at IS NULL").Order("id ASC").Limit(int64(limit))
	if after != "" {
		q = q.Where("id > ?", after)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("accounts: listing tokens: %w", err)
	}
	return out, nil
}

// RevokeToken revokes one of the user's personal tokens. Another user's
// token is NotFound. Errors: NotFound.
func (s *Service) RevokeToken(ctx context.Context, p *Principal, id string) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*APIToken)(nil)).Set("revoked_at = ?", s.now()).
			Where("id = ?", id).Where("user_id = ?", p.UserID).Where("kind = ?", KindPersonal).
			Where("revoked_at IS NULL").Exec(ctx)
		if err != nil {
			return fmt.Errorf("accounts: revoking token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFoundf("no such token")
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "api_token.revoke", TargetType: "api_token", TargetID: id})
		return err
	})
}

// Access is the principal's standing in one account. What each role may do
// there is the route table's to say (core/httpapi, docs/api.md).
type Access struct {
	AccountID string
	Role      string // customer role; "" for staff who are not members
	// Staff is true when the principal acts as staff, not as a member.
	Staff bool
}

// AccountAccess returns the principal's access to accountID. A user who is
// not a member gets NotFound (never Forbidden): the account's existence is
// not revealed. Staff with at least the support role see every account.
func (s *Service) AccountAccess(ctx context.Context, p *Principal, accountID string) (*Access, error) {
	m := &Membership{}
	err := s.db.Read.NewSelect().Model(m).Where("account_id = ?", accountID).Where("user_id = ?", p.UserID).Scan(ctx)
	if err == nil {
		return &Access{AccountID: accountID, Role: m.Role}, nil
	}
	if !database.IsNoRows(err) {
		return nil, fmt.Errorf("accounts: loading membership: %w", err)
	}
	if p.IsStaff(StaffSupport) {
		exists, err := s.db.Read.NewSelect().Model((*Account)(nil)).Where("id = ?", accountID).Exists(ctx)
		if err != nil {
			return nil, fmt.Errorf("accounts: loading account: %w", err)
		}
		if exists {
			return &Access{AccountID: accountID, Staff: true}, nil
		}
	}
	return nil, apperr.NotFoundf("no such account")
}

// Account loads an account the principal may see. Errors: NotFound.
func (s *Service) Account(ctx context.Context, p *Principal, id string) (*Account, *Access, error) {
	acc, err := s.AccountAccess(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	a := &Account{}
	if err := s.db.Read.NewSelect().Model(a).Where("id = ?", id).Scan(ctx); err != nil {
		if database.IsNoRows(err) {
			return nil, nil, apperr.NotFoundf("no such account")
		}
		return nil, nil, fmt.Errorf("accounts: loading account: %w", err)
	}
	return a, acc, nil
}
