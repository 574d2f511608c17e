package services

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/txwork"
)

// SetStatusIn moves svc to status (saving the extra columns too) in the
// caller's transaction t, bumps the wanted-state version and runs the
// status hooks. It is the one writer of a service's status.
func (s *Services) SetStatusIn(ctx context.Context, t *txwork.Tx, svc *Service, status string, extra ...string) error {
	from := svc.Status
	svc.Status, svc.UpdatedAt = status, s.now()
	svc.StateVersion++
	cols := append([]string{"status", "updated_at", "state_version"}, extra...)
	if _, err := t.NewUpdate().Model(svc).WherePK().Column(cols...).Exec(ctx); err != nil {
		return fmt.Errorf("services: moving service %s to %s: %w", svc.ID, status, err)
	}
	if from == status {
		return nil
	}
	for _, h := range s.status {
		if err := h(ctx, t.Tx, svc, from); err != nil {
			return err
		}
	}
	return nil
}

// EndIn terminates or cancels a service in t and queues the backend's
// termination. An error of the service's earlier life (a failed
// provisioning attempt or backend call) is cleared: the service has ended,
// and a failure of the termination at the backend is written anew.
func (s *Services) EndIn(ctx context.Context, t *txwork.Tx, svc *Service, status string) error {
	now := s.now()
	svc.EndedAt, svc.LastError = &now, ""
	if _, err := t.NewUpdate().Model((*Suspension)(nil)).Set("lifted_at = ?", now).
		Where("service_id = ?", svc.ID).Where("lifted_at IS NULL").Exec(ctx); err != nil {
		return fmt.Errorf("services: closing suspensions of %s: %w", svc.ID, err)
	}
	if err := s.SetStatusIn(ctx, t, svc, status, "ended_at", "last_error"); err != nil {
		return err
	}
	if svc.atBackend() {
		s.enqueueSync(t, svc)
	}
	return nil
}

// StartProvisioningIn moves a paid pending service to provisioning in t
// and queues the provisioning job (core/provisioning works it).
func (s *Services) StartProvisioningIn(ctx context.Context, t *txwork.Tx, svc *Service) error {
	svc.ProvisionAttempts, svc.LastError = 0, ""
	if err := s.SetStatusIn(ctx, t, svc, StatusProvisioning, "provision_attempts", "last_error"); err != nil {
		return err
	}
	t.Enqueue(ProvisionJob{ServiceID: svc.ID, Version: svc.StateVersion}, nil)
	return nil
}

// Suspend suspends a service for reason (a reason already in force is a
// no-op). Staff and other domains (budget caps) call it. Errors: NotFound,
// Invalid, Conflict (the service is not active or suspended).
func (s *Services) Suspend(ctx context.Context, serviceID, reason, note string) (*Service, error) {
	var svc *Service
	err := s.inTx(ctx, func(ctx context.Context, t *txwork.Tx) error {
		var err error
		if svc, err = s.ServiceTx(ctx, t, serviceID, true); err != nil {
			return err
		}
		_, err = s.SuspendIn(ctx, t, svc, reason, note)
		return err
	})
	return svc, err
}

// SuspendTx is Suspend inside the caller's transaction; it reports
// whether the reason was new.
func (s *Services) SuspendTx(ctx context.Context, tx bun.Tx, serviceID, reason, note string) (bool, error) {
	var added bool
	err := s.join(ctx, tx, func(t *txwork.Tx) error {
		svc, err := s.ServiceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		added, err = s.SuspendIn(ctx, t, svc, reason, note)
		return err
	})
	return added, err
}

// Unsuspend lifts the named suspension; the service is active again when
// no reason is left. A reason that is missing or not in force lifts
// nothing and is refused, naming the suspensions in force. Errors:
// NotFound, Invalid, Unprocessable (reason_not_in_force).
func (s *Services) Unsuspend(ctx context.Context, serviceID, reason string) (*Service, error) {
	var svc *Service
	err := s.inTx(ctx, func(ctx context.Context, t *txwork.Tx) error {
		var err error
		if svc, err = s.ServiceTx(ctx, t, serviceID, true); err != nil {
			return err
		}
		if reason != "" {
			lifted, err := s.LiftIn(ctx, t, svc, reason)
			if err != nil || lifted {
				return err
			}
		}
		return s.notInForce(ctx, t, svc, reason)
	})
	return svc, err
}

// notInForce is the refusal of an unsuspension whose reason is missing or
// not in force: it lists the suspensions that are.
func (s *Services) notInForce(ctx context.Context, t *txwork.Tx, svc *Service, reason string) error {
	active, err := s.ReasonsInForce(ctx, t, svc.ID)
	if err != nil {
		return err
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

// ReasonsInForce are the reasons a service is suspended for now, oldest
// first.
func (s *Services) ReasonsInForce(ctx context.Context, db bun.IDB, serviceID string) ([]string, error) {
	var active []string
	if err := db.NewSelect().Model((*Suspension)(nil)).Column("reason").Where("service_id = ?", serviceID).
		Where("lifted_at IS NULL").OrderExpr("created_at ASC").Scan(ctx, &active); err != nil {
		return nil, fmt.Errorf("services: listing suspensions of %s: %w", serviceID, err)
	}
	return active, nil
}

// UnsuspendTx is Unsuspend inside the caller's transaction; it reports
// whether the reason was in force.
func (s *Services) UnsuspendTx(ctx context.Context, tx bun.Tx, serviceID, reason string) (bool, error) {
	var lifted bool
	err := s.join(ctx, tx, func(t *txwork.Tx) error {
		svc, err := s.ServiceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		lifted, err = s.LiftIn(ctx, t, svc, reason)
		return err
	})
	return lifted, err
}

// Suspensions lists a service's suspensions, in force first.
func (s *Services) Suspensions(ctx context.Context, serviceID string, activeOnly bool) ([]Suspension, error) {
	var out []Suspension
	q := s.db.Conn(ctx).NewSelect().Model(&out).Where("service_id = ?", serviceID).OrderExpr("lifted_at IS NOT NULL, created_at DESC")
	if activeOnly {
		q = q.Where("lifted_at IS NULL")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("services: listing suspensions of %s: %w", serviceID, err)
	}
	return out, nil
}

// SuspendIn suspends svc for reason in t; it reports whether the reason
// was new.
func (s *Services) SuspendIn(ctx context.Context, t *txwork.Tx, svc *Service, reason, note string) (bool, error) {
	if !reasonRe.MatchString(reason) {
		return false, apperr.Field("reason", "must be a lower-case name such as admin, budget or non_payment")
	}
	if svc.Status != StatusActive && svc.Status != StatusSuspended {
		return false, apperr.New(apperr.Conflict, "a %s service cannot be suspended", svc.Status).WithReason("service_" + svc.Status)
	}
	now := s.now()
	sus := &Suspension{ID: newID(), ServiceID: svc.ID, Reason: reason, Note: note, CreatedAt: now}
	res, err := t.NewInsert().Model(sus).On("CONFLICT (service_id, reason) WHERE lifted_at IS NULL DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("services: suspending %s: %w", svc.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	t.Audit("billing.service.suspend", svc.AccountID, "service", svc.ID, map[string]any{"reason": reason, "note": note})
	if svc.Status == StatusActive {
		svc.SuspendedAt = &now
		if err := s.SetStatusIn(ctx, t, svc, StatusSuspended, "suspended_at"); err != nil {
			return false, err
		}
		s.enqueueSync(t, svc)
		err := s.tell(ctx, t, notify.Event{Type: notify.ServiceSuspended, AccountID: svc.AccountID, Link: "/services/" + svc.ID,
			Data: map[string]any{"service_id": svc.ID, "service_name": s.Name(ctx, t, svc), "reason": reasonText(reason)}})
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// LiftIn lifts the reason's suspension of svc in t, making it active when
// no reason is left; it reports whether the reason was in force.
func (s *Services) LiftIn(ctx context.Context, t *txwork.Tx, svc *Service, reason string) (bool, error) {
	if !reasonRe.MatchString(reason) {
		return false, apperr.Field("reason", "must be a lower-case name such as admin, budget or non_payment")
	}
	now := s.now()
	res, err := t.NewUpdate().Model((*Suspension)(nil)).Set("lifted_at = ?", now).
		Where("service_id = ?", svc.ID).Where("reason = ?", reason).Where("lifted_at IS NULL").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("services: lifting %s suspension of %s: %w", reason, svc.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	t.Audit("billing.service.unsuspend", svc.AccountID, "service", svc.ID, map[string]any{"reason": reason})
	left, err := t.NewSelect().Model((*Suspension)(nil)).Where("service_id = ?", svc.ID).Where("lifted_at IS NULL").Count(ctx)
	if err != nil {
		return false, fmt.Errorf("services: counting suspensions of %s: %w", svc.ID, err)
	}
	if left == 0 && svc.Status == StatusSuspended {
		svc.SuspendedAt = nil
		if err := s.SetStatusIn(ctx, t, svc, StatusActive, "suspended_at"); err != nil {
			return false, err
		}
		s.enqueueSync(t, svc)
		err := s.tell(ctx, t, notify.Event{Type: notify.ServiceUnsuspended, AccountID: svc.AccountID, Link: "/services/" + svc.ID,
			Data: map[string]any{"service_id": svc.ID, "service_name": s.Name(ctx, t, svc)}})
		if err != nil {
			return false, err
		}
	}
	return true, nil
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
