package billing

import (
	"context"

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
