package billing

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/notify"
)

// tell hands a typed event to the notifier in t, so the in-app rows and
// messages exist if and only if the change that causes them commits. The
// notifier (core/notify) picks the recipients (the account's members whose
// role concerns the type), applies their preferences and renders the
// type's templates. Without a notifier nobody is told: only tests of other
// packages build billing that way.
func (b *Billing) tell(ctx context.Context, t *txn, ev notify.Event) error {
	if b.notifier == nil {
		return nil
	}
	return b.notifier.Notify(ctx, t.Tx, ev)
}

// serviceName is what notices call a service (notify.ServiceName): its
// label, else its plan's name and hostname, never its id.
func (b *Billing) serviceName(ctx context.Context, db bun.IDB, svc *Service) string {
	var plan string
	if p, err := b.catalog.PlanTx(ctx, db, svc.PlanID); err == nil {
		plan = p.Name
	}
	return notify.ServiceName(svc.Label, plan, notify.Hostname(svc.Attributes, svc.Options))
}
