package scheduler

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/notify"
)

// Notice types the scheduler sends: notification types of core/notify,
// whose templates render them.
const (
	NoticeTaskSucceeded      = string(notify.TaskSucceeded)
	NoticeTaskFailed         = string(notify.TaskFailed)
	NoticeTaskUnknown        = string(notify.TaskUnknown)
	NoticePlanChangeReminder = string(notify.PlanChangeReminder)
	NoticePlanChangeApplied  = string(notify.PlanChangeApplied)
	NoticePlanChangeFailed   = string(notify.PlanChangeFailed)
	NoticeRecoveryRestarted  = string(notify.RecoveryRestarted)
	NoticeRecoveryGaveUp     = string(notify.RecoveryGaveUp)
)

// Notice is something a customer is told about: the notification
// center's event for the account's members who operate services. Data
// feeds the type's templates (keys in docs/notifications.md); Link is a
// path under the public URL.
type Notice struct {
	Type      string
	AccountID string
	Data      map[string]any
	Link      string
}

// Notifier delivers notices inside the caller's transaction, so a notice
// exists if and only if the outcome it reports was recorded.
type Notifier interface {
	Notify(ctx context.Context, tx bun.Tx, n Notice) error
}

type nopNotifier struct{}

func (nopNotifier) Notify(context.Context, bun.Tx, Notice) error { return nil }

// EventNotifier is what CenterNotifier needs of core/notify
// (*notify.Service).
type EventNotifier interface {
	Notify(ctx context.Context, tx bun.Tx, ev notify.Event) error
}

// CenterNotifier is the Notifier app wiring uses: it hands each notice to
// the notification center, which writes the in-app rows and the messages
// each recipient's preferences ask for, in tx.
type CenterNotifier struct {
	Center EventNotifier
}

// Notify implements Notifier.
func (c *CenterNotifier) Notify(ctx context.Context, tx bun.Tx, n Notice) error {
	return c.Center.Notify(ctx, tx, notify.Event{Type: notify.Type(n.Type), AccountID: n.AccountID, Data: n.Data, Link: n.Link})
}
