package accounts

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
)

// Operator is the principal of the operator at the console (`ezscale admin
// enable|disable|list`): above every staff role, bound only by the rule that
// the last enabled staff owner stays enabled. It never comes from a token.
var Operator = &Principal{TokenKind: "console", StaffRole: StaffOwner}

// rankOf is a user's staff rank; customers rank below every staff role.
func rankOf(u *User) int {
	if u.StaffRole == nil {
		return 0
	}
	return staffRank[*u.StaffRole]
}

// mayActOn checks that p may change target's standing: the operator may act
// on anyone; a staff admin or owner only on users of a strictly lower role
// (a customer, or staff below their own role), never on themselves.
func mayActOn(p *Principal, target *User) error {
	if p == Operator {
		return nil
	}
	if !p.IsStaff(StaffAdmin) {
		return apperr.New(apperr.Forbidden, "staff admin role required")
	}
	if target.ID == p.UserID {
		return apperr.New(apperr.Conflict, "you cannot change your own standing")
	}
	if rankOf(target) >= staffRank[p.StaffRole] {
		return apperr.New(apperr.Forbidden, "staff may act only on users of a lower role than their own (%s)", p.StaffRole).WithReason("staff_hierarchy")
	}
	return nil
}

// DisableUser disables a user and revokes all their sessions and tokens.
// Staff admins and owners may disable users of a strictly lower role; the
// Operator anyone. The last enabled staff owner is never disabled.
// Errors: NotFound, Forbidden (staff_hierarchy), Conflict (last_owner).
func (s *Service) DisableUser(ctx context.Context, p *Principal, userID string) error {
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
		if u.DisabledAt != nil {
			return nil
		}
		if isLastOwner(u, owners) {
			return apperr.New(apperr.Conflict, "the last staff owner cannot be disabled; create or enable another owner first").WithReason("last_owner")
		}
		now := s.now()
		if _, err := tx.NewUpdate().Model((*User)(nil)).Set("disabled_at = ?", now).Set("updated_at = ?", now).
			Where("id = ?", u.ID).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: disabling user: %w", err)
		}
		if _, err := tx.NewUpdate().Model((*APIToken)(nil)).Set("revoked_at = ?", now).
			Where("user_id = ?", u.ID).Where("revoked_at IS NULL").Exec(ctx); err != nil {
			return fmt.Errorf("accounts: revoking tokens: %w", err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "user.disable", TargetType: "user", TargetID: u.ID, Changes: standing(u)})
		return err
	})
}

// EnableUser re-enables a disabled user; their revoked sessions and tokens
// stay revoked, so they log in again. The same hierarchy as DisableUser
// applies; a deleted user stays disabled. Errors: NotFound, Forbidden
// (staff_hierarchy), Conflict (user_deleted).
func (s *Service) EnableUser(ctx context.Context, p *Principal, userID string) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := s.lockUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := mayActOn(p, u); err != nil {
			return err
		}
		if u.DisabledAt == nil {
			return nil
		}
		if u.DeletedAt != nil {
			return apperr.New(apperr.Conflict, "the user was deleted").WithReason("user_deleted")
		}
		if _, err := tx.NewUpdate().Model((*User)(nil)).Set("disabled_at = NULL").Set("updated_at = ?", s.now()).
			Where("id = ?", u.ID).Exec(ctx); err != nil {
			return fmt.Errorf("accounts: enabling user: %w", err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "user.enable", TargetType: "user", TargetID: u.ID, Changes: standing(u)})
		return err
	})
}

func standing(u *User) map[string]any {
	role := ""
	if u.StaffRole != nil {
		role = *u.StaffRole
	}
	return map[string]any{"email": u.Email, "staff_role": role}
}

func (s *Service) lockUser(ctx context.Context, tx bun.Tx, id string) (*User, error) {
	u := &User{}
	err := database.ForUpdate(tx.NewSelect().Model(u).Where("id = ?", id)).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such user")
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: loading user: %w", err)
	}
	return u, nil
}

// UserByEmail loads a user by address (any case). Errors: NotFound.
func (s *Service) UserByEmail(ctx context.Context, email string) (*User, error) {
	u := &User{}
	err := s.reader(ctx).NewSelect().Model(u).Where("email = ?", strings.ToLower(strings.TrimSpace(email))).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such user")
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: loading user: %w", err)
	}
	return u, nil
}

// maxQuery bounds a search string.
const maxQuery = 200

// UserFilter selects users for staff.
type UserFilter struct {
	// Query matches an exact id or part of the email address.
	Query string
	// Staff, when set, keeps staff users (true) or customers (false);
	// Disabled, when set, keeps users that are (true) or are not (false)
	// disabled.
	Staff    *bool
	Disabled *bool
}

// likePattern is a case-insensitive LIKE pattern for a substring, with the
// pattern characters escaped (use with ESCAPE '\').
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(q)) + "%"
}

func checkQuery(q string) (string, error) {
	q = strings.TrimSpace(q)
	if len(q) > maxQuery {
		return "", apperr.Field("q", "must be at most %d characters", maxQuery)
	}
	return q, nil
}

// ListUsers lists users in id (creation) order after the cursor id. Staff
// (support and above) and the Operator only. Errors: Forbidden, Invalid.
func (s *Service) ListUsers(ctx context.Context, p *Principal, f UserFilter, after string, limit int) ([]User, error) {
	if !p.IsStaff(StaffSupport) {
		return nil, apperr.New(apperr.Forbidden, "staff role required")
	}
	q, err := checkQuery(f.Query)
	if err != nil {
		return nil, err
	}
	var out []User
	sel := s.db.Read.NewSelect().Model(&out).Order("id ASC").Limit(int64(limit))
	if q != "" {
		sel = sel.WhereGroup(" AND ", func(sq *bun.SelectQuery) *bun.SelectQuery {
			return sq.Where("id = ?", q).WhereOr(`LOWER(email) LIKE ? ESCAPE '\'`, likePattern(q))
		})
	}
	if f.Staff != nil {
		if *f.Staff {
			sel = sel.Where("staff_role IS NOT NULL")
		} else {
			sel = sel.Where("staff_role IS NULL")
		}
	}
	if f.Disabled != nil {
		if *f.Disabled {
			sel = sel.Where("disabled_at IS NOT NULL")
		} else {
			sel = sel.Where("disabled_at IS NULL")
		}
	}
	if after != "" {
		sel = sel.Where("id > ?", after)
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, fmt.Errorf("accounts: listing users: %w", err)
	}
	return out, nil
}

// Member is one user of an account, as staff see it.
type Member struct {
	AccountID string `bun:"account_id"`
	UserID    string `bun:"user_id"`
	Email     string `bun:"email"`
	Role      string `bun:"role"`
}

// AccountSummary is an account with its members, for staff.
type AccountSummary struct {
	Account
	Members []Member
}

// ListAccounts lists accounts in id (creation) order after the cursor id,
// each with its members. Query matches an exact account id, part of the
// account's name, or part of a member's email address. Staff (support and
// above) and the Operator only. Errors: Forbidden, Invalid.
func (s *Service) ListAccounts(ctx context.Context, p *Principal, query, after string, limit int) ([]AccountSummary, error) {
	if !p.IsStaff(StaffSupport) {
		return nil, apperr.New(apperr.Forbidden, "staff role required")
	}
	q, err := checkQuery(query)
	if err != nil {
		return nil, err
	}
	var accs []Account
	sel := s.db.Read.NewSelect().Model(&accs).ModelTableExpr("accounts AS a").ColumnExpr("a.*").OrderExpr("a.id ASC").Limit(int64(limit))
	if q != "" {
		pat := likePattern(q)
		sel = sel.WhereGroup(" AND ", func(sq *bun.SelectQuery) *bun.SelectQuery {
			return sq.Where("a.id = ?", q).WhereOr(`LOWER(a.name) LIKE ? ESCAPE '\'`, pat).
				WhereOr(`EXISTS (SELECT 1 FROM memberships AS m JOIN users AS u ON u.id = m.user_id
					WHERE m.account_id = a.id AND LOWER(u.email) LIKE ? ESCAPE '\')`, pat)
		})
	}
	if after != "" {
		sel = sel.Where("a.id > ?", after)
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, fmt.Errorf("accounts: listing accounts: %w", err)
	}
	out := make([]AccountSummary, len(accs))
	if len(accs) == 0 {
		return out, nil
	}
	ids := make([]string, len(accs))
	index := make(map[string]int, len(accs))
	for i, a := range accs {
		ids[i] = a.ID
		index[a.ID] = i
		out[i] = AccountSummary{Account: a, Members: []Member{}}
	}
	var members []Member
	if err := s.db.Read.NewSelect().TableExpr("memberships AS m").Join("JOIN users AS u ON u.id = m.user_id").
		ColumnExpr("m.account_id, m.user_id, u.email, m.role").Where("m.account_id IN (?)", bun.List(ids)).
		OrderExpr("m.account_id, m.created_at, m.user_id").Scan(ctx, &members); err != nil {
		return nil, fmt.Errorf("accounts: listing members: %w", err)
	}
	for _, m := range members {
		i := index[m.AccountID]
		out[i].Members = append(out[i].Members, m)
	}
	return out, nil
}

// AccountName returns an account's display name, reading through the
// caller's transaction when ctx carries one. Errors: NotFound.
func (s *Service) AccountName(ctx context.Context, id string) (string, error) {
	var name string
	err := s.reader(ctx).NewSelect().Table("accounts").Column("name").Where("id = ?", id).Scan(ctx, &name)
	if database.IsNoRows(err) {
		return "", apperr.NotFoundf("no such account")
	}
	if err != nil {
		return "", fmt.Errorf("accounts: loading account %s: %w", id, err)
	}
	return name, nil
}
