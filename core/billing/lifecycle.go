package billing

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/notify"
)

// Suspension reasons. A service is suspended while it has at least one
// unlifted suspension; each reason is lifted on its own, so paying lifts a
// non-payment suspension and leaves an admin or budget one in place.
const (
	SuspendNonPayment = "non_payment"
	SuspendBudget     = "budget"
	SuspendAdmin      = "admin"
	SuspendAbuse      = "abuse"
)

var reasonRe = regexp.MustCompile(`^[a-z][a-z_]{1,31}$`)

// Suspension is one reason a service is (or was) suspended.
type Suspension struct {
	bun.BaseModel `bun:"table:service_suspensions"`

	ID        string     `bun:"id,pk"`
	ServiceID string     `bun:"service_id"`
	Reason    string     `bun:"reason"`
	Note      string     `bun:"note"`
	CreatedAt time.Time  `bun:"created_at"`
	LiftedAt  *time.Time `bun:"lifted_at"`
}

// markPaid closes a fully paid invoice and does what its payment means:
// an order starts provisioning, a renewal extends the paid period (and
// applies a change scheduled for it), an upgrade applies the new plan, and
// a paid renewal or upgrade lifts a non-payment suspension that nothing
// else overdue still justifies.
func (b *Billing) markPaid(ctx context.Context, t *txn, inv *Invoice) error {
	now := b.now()
	res, err := t.NewUpdate().Model(inv).WherePK().Where("status = ?", InvoiceOpen).
		Set("status = ?", InvoicePaid).Set("paid_at = ?", now).Set("updated_at = ?", now).Exec(ctx)
	if err != nil {
		return fmt.Errorf("billing: marking %s paid: %w", inv.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // already paid
	}
	inv.Status, inv.PaidAt = InvoicePaid, &now
	t.Audit("billing.invoice.paid", inv.AccountID, "invoice", inv.ID, map[string]any{"total": inv.Total, "number": inv.Number})
	if inv.Total > 0 {
		err := b.tell(ctx, t, notify.Event{Type: notify.InvoicePaid, AccountID: inv.AccountID, Data: invoiceData(inv),
			Link: "/invoices/" + inv.ID, Key: "invoice.paid:" + inv.ID})
		if err != nil {
			return err
		}
	}
	if inv.ServiceID != nil {
		svc, err := b.serviceTx(ctx, t, *inv.ServiceID, true)
		if err != nil {
			return err
		}
		switch inv.Reason {
		case ReasonOrder:
			err = b.startProvisioning(ctx, t, svc)
		case ReasonRenewal:
			err = b.renew(ctx, t, svc, inv)
		}
		if err != nil {
			return err
		}
		if inv.Reason != ReasonOrder {
			if err := b.liftNonPaymentIfClear(ctx, t, svc); err != nil {
				return err
			}
		}
	}
	return b.runPaidHooks(ctx, t, inv)
}

// startProvisioning moves a paid pending service to provisioning, starts
// its first period today and queues the provisioning job.
func (b *Billing) startProvisioning(ctx context.Context, t *txn, svc *Service) error {
	if svc.Status != StatusPending {
		return nil
	}
	start := money.Date(b.now())
	end := money.AddCycle(start, svc.Terms.Cycle, start.Day())
	svc.Terms.PeriodStart, svc.Terms.PeriodEnd, svc.Terms.AnchorDay = &start, &end, start.Day()
	svc.ProvisionAttempts, svc.LastError = 0, ""
	if err := saveTerms(ctx, t, svc.Terms, "period_start", "period_end", "anchor_day"); err != nil {
		return err
	}
	if err := b.setStatus(ctx, t, svc, StatusProvisioning, "provision_attempts", "last_error"); err != nil {
		return err
	}
	t.Enqueue(ProvisionJob{ServiceID: svc.ID, Version: svc.StateVersion}, nil)
	return nil
}

// renew extends the paid period by the renewal invoice's period, and
// applies a plan or cycle change scheduled for the new term.
func (b *Billing) renew(ctx context.Context, t *txn, svc *Service, inv *Invoice) error {
	if svc.Terms.PeriodEnd == nil || inv.PeriodStart == nil || !svc.Terms.PeriodEnd.Equal(*inv.PeriodStart) {
		return nil // paid late for a period already replaced, or a cancelled service
	}
	svc.Terms.PeriodStart, svc.Terms.PeriodEnd = inv.PeriodStart, inv.PeriodEnd
	termCols := []string{"period_start", "period_end"}
	cols := []string{"updated_at"}
	fromCycle := svc.Terms.Cycle
	if terms := svc.Terms; terms.PendingPlanID != nil || terms.PendingCycle != nil {
		if terms.PendingPlanID != nil {
			svc.PlanID = *terms.PendingPlanID
		}
		if terms.PendingCycle != nil {
			terms.Cycle = *terms.PendingCycle
		}
		if terms.PendingPrice != nil {
			terms.Price = *terms.PendingPrice
		}
		terms.clearPending()
		termCols = append(append(termCols, "cycle", "price"), pendingColumns...)
		svc.StateVersion++
		cols = append(cols, "plan_id", "state_version")
		if _, err := t.NewUpdate().Table("plan_changes").Set("status = 'applied'").Set("applied_at = ?", b.now()).
			Where("service_id = ?", svc.ID).Where("status = 'scheduled'").Exec(ctx); err != nil {
			return fmt.Errorf("billing: applying the scheduled change: %w", err)
		}
		t.Audit("billing.service.plan_changed", svc.AccountID, "service", svc.ID, map[string]any{"plan": svc.PlanID, "cycle": svc.Terms.Cycle, "price": svc.Terms.Price, "when": "renewal"})
	}
	optionsChanged, err := b.renewAddons(ctx, t, svc, fromCycle)
	if err != nil {
		return err
	}
	if optionsChanged {
		svc.OptionsVersion++
		if !slices.Contains(cols, "state_version") {
			svc.StateVersion++
			cols = append(cols, "state_version")
		}
		cols = append(cols, "options_version")
	}
	if err := saveTerms(ctx, t, svc.Terms, termCols...); err != nil {
		return err
	}
	svc.UpdatedAt = b.now()
	if _, err := t.NewUpdate().Model(svc).WherePK().Column(cols...).Exec(ctx); err != nil {
		return fmt.Errorf("billing: renewing %s: %w", svc.ID, err)
	}
	if backendBehind(svc) {
		b.enqueueSync(t, svc)
	}
	return nil
}

// backendBehind reports whether the provisioner runs an older plan or
// older add-on options than the service has.
func backendBehind(svc *Service) bool {
	return (svc.BackendPlanID != "" && svc.BackendPlanID != svc.PlanID) ||
		(svc.BackendState != "" && svc.OptionsVersion != svc.BackendOptionsVersion)
}

// setStatus moves svc to status (saving the extra columns too), bumps the
// wanted-state version and runs the service hooks.
func (b *Billing) setStatus(ctx context.Context, t *txn, svc *Service, status string, extra ...string) error {
	from := svc.Status
	svc.Status, svc.UpdatedAt = status, b.now()
	svc.StateVersion++
	cols := append([]string{"status", "updated_at", "state_version"}, extra...)
	if _, err := t.NewUpdate().Model(svc).WherePK().Column(cols...).Exec(ctx); err != nil {
		return fmt.Errorf("billing: moving service %s to %s: %w", svc.ID, status, err)
	}
	if InTerm(status) != svc.Terms.InTerm {
		svc.Terms.InTerm = InTerm(status)
		if err := saveTerms(ctx, t, svc.Terms, "in_term"); err != nil {
			return err
		}
	}
	if from != status {
		return b.runServiceHooks(ctx, t, svc, from)
	}
	return nil
}

// endService terminates or cancels a service and queues the backend's
// termination. An error of the service's earlier life (a failed
// provisioning attempt or backend call) is cleared: the service has ended,
// and a failure of the termination at the backend is written anew.
func (b *Billing) endService(ctx context.Context, t *txn, svc *Service, status string) error {
	now := b.now()
	svc.EndedAt, svc.LastError = &now, ""
	if _, err := t.NewUpdate().Table("service_suspensions").Set("lifted_at = ?", now).
		Where("service_id = ?", svc.ID).Where("lifted_at IS NULL").Exec(ctx); err != nil {
		return fmt.Errorf("billing: closing suspensions of %s: %w", svc.ID, err)
	}
	if err := b.setStatus(ctx, t, svc, status, "ended_at", "last_error"); err != nil {
		return err
	}
	if svc.ExternalID != "" || svc.BackendState != "" {
		b.enqueueSync(t, svc)
	}
	return nil
}

// Suspend suspends a service for reason (a reason already in force is a
// no-op). Staff and other domains (budget caps) call it. Errors: NotFound,
// Invalid, Conflict (the service is not active or suspended).
func (b *Billing) Suspend(ctx context.Context, serviceID, reason, note string) (*Service, error) {
	var svc *Service
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		var err error
		if svc, err = b.serviceTx(ctx, t, serviceID, true); err != nil {
			return err
		}
		_, err = b.suspend(ctx, t, svc, reason, note)
		return err
	})
	return svc, err
}

// SuspendTx is Suspend inside the caller's transaction; it reports
// whether the reason was new.
func (b *Billing) SuspendTx(ctx context.Context, tx bun.Tx, serviceID, reason, note string) (bool, error) {
	var added bool
	err := b.join(ctx, tx, func(t *txn) error {
		svc, err := b.serviceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		added, err = b.suspend(ctx, t, svc, reason, note)
		return err
	})
	return added, err
}

// Unsuspend lifts the named suspension; the service is active again when
// no reason is left. A reason that is missing or not in force lifts
// nothing and is refused, naming the suspensions in force. Errors:
// NotFound, Invalid, Unprocessable (reason_not_in_force).
func (b *Billing) Unsuspend(ctx context.Context, serviceID, reason string) (*Service, error) {
	var svc *Service
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		var err error
		if svc, err = b.serviceTx(ctx, t, serviceID, true); err != nil {
			return err
		}
		if reason != "" {
			lifted, err := b.lift(ctx, t, svc, reason)
			if err != nil || lifted {
				return err
			}
		}
		return b.notInForce(ctx, t, svc, reason)
	})
	return svc, err
}

// notInForce is the refusal of an unsuspension whose reason is missing or
// not in force: it lists the suspensions that are.
func (b *Billing) notInForce(ctx context.Context, t *txn, svc *Service, reason string) error {
	var active []string
	if err := t.NewSelect().Model((*Suspension)(nil)).Column("reason").Where("service_id = ?", svc.ID).
		Where("lifted_at IS NULL").OrderExpr("created_at ASC").Scan(ctx, &active); err != nil {
		return fmt.Errorf("billing: listing suspensions of %s: %w", svc.ID, err)
	}
	msg := "names the suspension to lift; the service has none in force"
	if len(active) > 0 {
		msg = "names the suspension to lift, one of those in force: " + strings.Join(active, ", ")
	}
	if reason == "" {
		msg = "is required: it " + msg
	} else {
		msg = fmt.Sprintf("%q is not in force; it %s", reason, msg)
	}
	return &apperr.Error{Code: apperr.Unprocessable, Reason: "reason_not_in_force", Message: "no such suspension is in force",
		Fields: []apperr.FieldError{{Field: "reason", Message: msg}}}
}

// UnsuspendTx is Unsuspend inside the caller's transaction; it reports
// whether the reason was in force.
func (b *Billing) UnsuspendTx(ctx context.Context, tx bun.Tx, serviceID, reason string) (bool, error) {
	var lifted bool
	err := b.join(ctx, tx, func(t *txn) error {
		svc, err := b.serviceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		lifted, err = b.lift(ctx, t, svc, reason)
		return err
	})
	return lifted, err
}

// Suspensions lists a service's suspensions, in force first.
func (b *Billing) Suspensions(ctx context.Context, serviceID string, activeOnly bool) ([]Suspension, error) {
	var out []Suspension
	q := b.db.Conn(ctx).NewSelect().Model(&out).Where("service_id = ?", serviceID).OrderExpr("lifted_at IS NOT NULL, created_at DESC")
	if activeOnly {
		q = q.Where("lifted_at IS NULL")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: listing suspensions of %s: %w", serviceID, err)
	}
	return out, nil
}

func (b *Billing) suspend(ctx context.Context, t *txn, svc *Service, reason, note string) (bool, error) {
	if !reasonRe.MatchString(reason) {
		return false, apperr.Field("reason", "must be a lower-case name such as admin, budget or non_payment")
	}
	if svc.Status != StatusActive && svc.Status != StatusSuspended {
		return false, apperr.New(apperr.Conflict, "a %s service cannot be suspended", svc.Status).WithReason("service_" + svc.Status)
	}
	now := b.now()
	s := &Suspension{ID: newID(), ServiceID: svc.ID, Reason: reason, Note: note, CreatedAt: now}
	res, err := t.NewInsert().Model(s).On("CONFLICT (service_id, reason) WHERE lifted_at IS NULL DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("billing: suspending %s: %w", svc.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	t.Audit("billing.service.suspend", svc.AccountID, "service", svc.ID, map[string]any{"reason": reason, "note": note})
	if svc.Status == StatusActive {
		svc.SuspendedAt = &now
		if err := b.setStatus(ctx, t, svc, StatusSuspended, "suspended_at"); err != nil {
			return false, err
		}
		b.enqueueSync(t, svc)
		err := b.tell(ctx, t, notify.Event{Type: notify.ServiceSuspended, AccountID: svc.AccountID, Link: "/services/" + svc.ID,
			Data: map[string]any{"service_id": svc.ID, "service_name": b.serviceName(ctx, t, svc), "reason": reasonText(reason)}})
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

func (b *Billing) lift(ctx context.Context, t *txn, svc *Service, reason string) (bool, error) {
	if !reasonRe.MatchString(reason) {
		return false, apperr.Field("reason", "must be a lower-case name such as admin, budget or non_payment")
	}
	now := b.now()
	res, err := t.NewUpdate().Model((*Suspension)(nil)).Set("lifted_at = ?", now).
		Where("service_id = ?", svc.ID).Where("reason = ?", reason).Where("lifted_at IS NULL").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("billing: lifting %s suspension of %s: %w", reason, svc.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	t.Audit("billing.service.unsuspend", svc.AccountID, "service", svc.ID, map[string]any{"reason": reason})
	left, err := t.NewSelect().Model((*Suspension)(nil)).Where("service_id = ?", svc.ID).Where("lifted_at IS NULL").Count(ctx)
	if err != nil {
		return false, fmt.Errorf("billing: counting suspensions of %s: %w", svc.ID, err)
	}
	if left == 0 && svc.Status == StatusSuspended {
		svc.SuspendedAt = nil
		if err := b.setStatus(ctx, t, svc, StatusActive, "suspended_at"); err != nil {
			return false, err
		}
		b.enqueueSync(t, svc)
		err := b.tell(ctx, t, notify.Event{Type: notify.ServiceUnsuspended, AccountID: svc.AccountID, Link: "/services/" + svc.ID,
			Data: map[string]any{"service_id": svc.ID, "service_name": b.serviceName(ctx, t, svc)}})
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// liftNonPaymentIfClear lifts a non-payment suspension once no invoice of
// the service is overdue past the suspension threshold any more.
func (b *Billing) liftNonPaymentIfClear(ctx context.Context, t *txn, svc *Service) error {
	if svc.Status != StatusSuspended {
		return nil
	}
	cutoff := b.now().AddDate(0, 0, -b.opts.SuspendAfterDays)
	n, err := t.NewSelect().Model((*Invoice)(nil)).Where("service_id = ?", svc.ID).Where("status = ?", InvoiceOpen).
		Where("due_at <= ?", cutoff).Count(ctx)
	if err != nil {
		return fmt.Errorf("billing: checking overdue invoices of %s: %w", svc.ID, err)
	}
	if n > 0 {
		return nil
	}
	_, err = b.lift(ctx, t, svc, SuspendNonPayment)
	return err
}

func reasonText(reason string) string {
	switch reason {
	case SuspendNonPayment:
		return "an invoice is overdue; paying it lifts the suspension"
	case SuspendBudget:
		return "the account's budget cap was reached"
	case SuspendAdmin:
		return "by our staff"
	}
	return reason
}

// Terminate ends a service at once: its open invoices are voided and the
// backend terminates it. For the platform's own decisions (an unused free
// tier, say): nothing asks whether other services depend on it. Errors:
// NotFound, Conflict.
func (b *Billing) Terminate(ctx context.Context, serviceID, reason string) (*Service, error) {
	return b.terminate(ctx, serviceID, reason, nil)
}

// TerminateInput is a staff request to terminate a service.
type TerminateInput struct {
	Reason string `json:"reason"`
	// ConfirmDependents terminates a service that other services depend
	// on; without it that is refused (see OnEnding).
	ConfirmDependents bool `json:"confirm_dependents"`
}

// TerminateRequested is Terminate at a staff member's request, guarded:
// a service others depend on is refused unless the request confirms it.
// Errors: NotFound, Conflict (the service has ended;
// service_has_dependents).
func (b *Billing) TerminateRequested(ctx context.Context, serviceID string, in TerminateInput) (*Service, error) {
	return b.terminate(ctx, serviceID, in.Reason, &in.ConfirmDependents)
}

// terminate ends the service; confirmed nil skips the dependents guard.
func (b *Billing) terminate(ctx context.Context, serviceID, reason string, confirmed *bool) (*Service, error) {
	var svc *Service
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if err := b.lockAccountOf(ctx, t, "services", serviceID); err != nil {
			return err
		}
		var err error
		if svc, err = b.serviceTx(ctx, t, serviceID, true); err != nil {
			return err
		}
		if !svc.Live() {
			return apperr.New(apperr.Conflict, "the service is already %s", svc.Status).WithReason("service_" + svc.Status)
		}
		if confirmed != nil {
			if err := b.checkEnd(ctx, t, svc, *confirmed); err != nil {
				return err
			}
		}
		var open []*Invoice
		if err := t.NewSelect().Model(&open).Where("service_id = ?", svc.ID).Where("status = ?", InvoiceOpen).Scan(ctx); err != nil {
			return fmt.Errorf("billing: loading open invoices: %w", err)
		}
		for _, inv := range open {
			if err := b.voidTx(ctx, t, inv, "service terminated by staff"); err != nil {
				return err
			}
		}
		if err := b.endService(ctx, t, svc, StatusTerminated); err != nil {
			return err
		}
		changes := map[string]any{"reason": reason, "voided_invoices": len(open)}
		if confirmed != nil {
			changes["confirm_dependents"] = *confirmed
		}
		t.Audit("billing.service.terminate", svc.AccountID, "service", svc.ID, changes)
		return nil
	})
	return svc, err
}
