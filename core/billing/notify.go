package billing

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/outbox"
)

// recipient is a user who receives an account's billing mail.
type recipient struct {
	UserID string `bun:"id"`
	Email  string `bun:"email"`
}

// billingRoles receive billing notices: the people who can pay.
var billingRoles = []string{"owner", "admin", "billing"}

// notify queues a message to the account's billing contacts in t, so it
// exists if and only if the change that causes it commits.
func (b *Billing) notify(ctx context.Context, t *txn, accountID, template, subject, body string) error {
	if b.outbox == nil {
		return nil
	}
	var rs []recipient
	err := t.NewSelect().TableExpr("memberships AS m").Join("JOIN users AS u ON u.id = m.user_id").
		ColumnExpr("u.id, u.email").Where("m.account_id = ?", accountID).Where("m.role IN (?)", bun.In(billingRoles)).
		Where("u.disabled_at IS NULL").OrderExpr("u.email ASC").Scan(ctx, &rs)
	if err != nil {
		return fmt.Errorf("billing: loading billing contacts of %s: %w", accountID, err)
	}
	for _, r := range rs {
		uid := r.UserID
		err := b.outbox.Enqueue(ctx, t.Tx, &outbox.Message{
			UserID: &uid, Channel: "email", Recipient: r.Email, Template: template, Category: "billing",
			Subject: subject, BodyText: body,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *Billing) link(path string) string {
	if b.opts.PublicURL == "" {
		return path
	}
	return strings.TrimRight(b.opts.PublicURL, "/") + path
}
