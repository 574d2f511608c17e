package budget

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/outbox"
)

// billingRoles receive budget notices: the people who set the budget and
// pay.
var billingRoles = []string{accounts.RoleOwner, accounts.RoleAdmin, accounts.RoleBilling}

// notify is the one call budget caps make to tell an account something:
// an email through the outbox to each owner, admin and billing member, in tx,
// so the message exists if and only if the check that caused it commits.
// (The notification center's richer API can replace this function alone.)
func (s *Service) notify(ctx context.Context, tx bun.Tx, accountID, template, subject, body string) error {
	if s.outbox == nil {
		return nil
	}
	var rs []struct {
		ID    string `bun:"id"`
		Email string `bun:"email"`
	}
	err := tx.NewSelect().TableExpr("memberships AS m").Join("JOIN users AS u ON u.id = m.user_id").
		ColumnExpr("u.id, u.email").Where("m.account_id = ?", accountID).Where("m.role IN (?)", bun.List(billingRoles)).
		Where("u.disabled_at IS NULL").OrderExpr("u.email ASC").Scan(ctx, &rs)
	if err != nil {
		return fmt.Errorf("budget: loading billing contacts of %s: %w", accountID, err)
	}
	for _, r := range rs {
		uid := r.ID
		err := s.outbox.Enqueue(ctx, tx, &outbox.Message{
			UserID: &uid, Channel: "email", Recipient: r.Email, Template: template, Category: "billing",
			Subject: subject, BodyText: body,
		})
		if err != nil {
			return fmt.Errorf("budget: notifying %s: %w", accountID, err)
		}
	}
	return nil
}
