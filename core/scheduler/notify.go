package scheduler

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/outbox"
)

// Notice types the scheduler sends.
const (
	NoticeTaskSucceeded      = "task.succeeded"
	NoticeTaskFailed         = "task.failed"
	NoticePlanChangeReminder = "plan_change.reminder"
	NoticePlanChangeApplied  = "plan_change.applied"
	NoticePlanChangeFailed   = "plan_change.failed"
	NoticeRecoveryRestarted  = "recovery.restarted"
	NoticeRecoveryGaveUp     = "recovery.gave_up"
)

// Notice is something a customer is told about. It mirrors the
// notification center's event (type, account, data), so moving from the
// outbox to it is a change of Notifier, not of callers.
type Notice struct {
	Type      string
	AccountID string
	Subject   string
	Text      string
	Data      map[string]any
}

// Notifier delivers notices inside the caller's transaction, so a notice
// exists if and only if the outcome it reports was recorded.
type Notifier interface {
	Notify(ctx context.Context, tx bun.Tx, n Notice) error
}

type nopNotifier struct{}

func (nopNotifier) Notify(context.Context, bun.Tx, Notice) error { return nil }

// OutboxNotifier emails a notice to the account's members who operate
// services (owners, admins, technical members), through the outbox.
type OutboxNotifier struct {
	Outbox *outbox.Outbox
}

// Notify implements Notifier.
func (o *OutboxNotifier) Notify(ctx context.Context, tx bun.Tx, n Notice) error {
	var members []struct {
		UserID string `bun:"user_id"`
		Email  string `bun:"email"`
	}
	err := tx.NewRaw(`SELECT m.user_id, u.email FROM memberships AS m JOIN users AS u ON u.id = m.user_id
		WHERE m.account_id = ? AND m.role IN ('owner', 'admin', 'technical') AND u.disabled_at IS NULL ORDER BY u.email`,
		n.AccountID).Scan(ctx, &members)
	if err != nil {
		return fmt.Errorf("scheduler: loading recipients of %s: %w", n.Type, err)
	}
	body := n.Text + "\n\n" + dataLines(n.Data)
	for _, m := range members {
		uid := m.UserID
		if err := o.Outbox.Enqueue(ctx, tx, &outbox.Message{
			UserID: &uid, Channel: "email", Recipient: m.Email, Template: n.Type, Category: "services",
			Subject: n.Subject, BodyText: body,
		}); err != nil {
			return err
		}
	}
	return nil
}

func dataLines(d map[string]any) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %v\n", k, d[k])
	}
	return b.String()
}
