package billing

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// EndCheck runs in the transaction of a customer's cancellation and of a
// staff termination, before the service ends, with the request's
// confirm_dependents; an error refuses the end (core/projects' termination
// guard answers Conflict service_has_dependents, naming the dependents).
type EndCheck func(ctx context.Context, tx bun.Tx, svc *Service, confirmed bool) error

// OnEnding registers h before every cancellation and termination. Register
// while wiring (core/app/reactions.go).
func (b *Billing) OnEnding(h EndCheck) { b.hooks.ending = append(b.hooks.ending, h) }

func (b *Billing) checkEnd(ctx context.Context, t *txn, svc *Service, confirmed bool) error {
	for _, h := range b.hooks.ending {
		if err := h(ctx, t.Tx, svc, confirmed); err != nil {
			return err
		}
	}
	return nil
}

// LinesHook runs in the transaction that writes invoice lines, before they
// are inserted, and may fill in what another domain knows of a line
// (core/projects: the project of the line's service, as db sees it).
type LinesHook func(ctx context.Context, db bun.IDB, lines []InvoiceLine) error

// OnInvoiceLines registers h for every batch of invoice lines written.
// Register while wiring (core/app/reactions.go).
func (b *Billing) OnInvoiceLines(h LinesHook) { b.hooks.lines = append(b.hooks.lines, h) }

func (b *Billing) runLinesHooks(ctx context.Context, db bun.IDB, lines []InvoiceLine) error {
	for _, h := range b.hooks.lines {
		if err := h(ctx, db, lines); err != nil {
			return fmt.Errorf("billing: completing invoice lines: %w", err)
		}
	}
	return nil
}
