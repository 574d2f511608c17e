package services

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/txwork"
)

// Service returns a service of the account (any account when accountID is
// empty). Errors: NotFound.
func (s *Services) Service(ctx context.Context, accountID, id string) (*Service, error) {
	svc, err := s.ServiceTx(ctx, s.db.Conn(ctx), id, false)
	if err != nil {
		return nil, err
	}
	if accountID != "" && svc.AccountID != accountID {
		return nil, apperr.NotFoundf("no such service")
	}
	return svc, nil
}

// ServiceTx loads a service as db sees it, locking its row when lock is
// set. Errors: NotFound.
func (s *Services) ServiceTx(ctx context.Context, db bun.IDB, id string, lock bool) (*Service, error) {
	svc := &Service{}
	q := db.NewSelect().Model(svc).Where("id = ?", id)
	if lock {
		q = database.ForUpdate(q)
	}
	if err := q.Scan(ctx); err != nil {
		if database.IsNoRows(err) {
			return nil, apperr.NotFoundf("no such service")
		}
		return nil, fmt.Errorf("services: loading service %s: %w", id, err)
	}
	return svc, nil
}

// ServicesTx are the services among ids as db sees them, in no particular
// order; ids that do not exist are absent.
func (s *Services) ServicesTx(ctx context.Context, db bun.IDB, ids []string) ([]*Service, error) {
	var svcs []*Service
	if len(ids) == 0 {
		return svcs, nil
	}
	if err := db.NewSelect().Model(&svcs).Where("id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("services: loading %d services: %w", len(ids), err)
	}
	return svcs, nil
}

// List lists services newest first.
func (s *Services) List(ctx context.Context, f Filter) ([]Service, error) {
	var out []Service
	q := s.db.Conn(ctx).NewSelect().Model(&out).Order("id DESC").Limit(int64(f.Limit))
	if f.AccountID != "" {
		q = q.Where("account_id = ?", f.AccountID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Among != nil {
		switch {
		case len(f.Among.IDs) > 0 && f.Among.Exclude:
			q = q.Where("id NOT IN (?)", bun.List(f.Among.IDs))
		case len(f.Among.IDs) > 0:
			q = q.Where("id IN (?)", bun.List(f.Among.IDs))
		case !f.Among.Exclude:
			return nil, nil // among none
		}
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("services: listing services: %w", err)
	}
	return out, nil
}

// AccountOf is the account a service belongs to as db sees it ("" for a
// service that does not exist).
func (s *Services) AccountOf(ctx context.Context, db bun.IDB, serviceID string) (string, error) {
	var accountID string
	err := db.NewSelect().Model((*Service)(nil)).Column("account_id").Where("id = ?", serviceID).Scan(ctx, &accountID)
	if err != nil && !database.IsNoRows(err) {
		return "", fmt.Errorf("services: reading the account of %s: %w", serviceID, err)
	}
	return accountID, nil
}

// CreateIn inserts a new pending service in t (an order's).
func (s *Services) CreateIn(ctx context.Context, t *txwork.Tx, svc *Service) error {
	if svc.Status == "" {
		svc.Status = StatusPending
	}
	if svc.Attributes == "" {
		svc.Attributes = "{}"
	}
	if _, err := t.NewInsert().Model(svc).Exec(ctx); err != nil {
		return fmt.Errorf("services: inserting service: %w", err)
	}
	return nil
}

// CountLiveOnPlan counts the account's live services on a plan (a free
// tier's limit).
func (s *Services) CountLiveOnPlan(ctx context.Context, db bun.IDB, accountID, planID string) (int64, error) {
	n, err := db.NewSelect().Model((*Service)(nil)).Where("account_id = ?", accountID).Where("plan_id = ?", planID).
		Where("status IN (?)", bun.List(liveStatuses)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("services: counting services on plan %s: %w", planID, err)
	}
	return int64(n), nil
}

// CountLive counts the live services on a plan or among ids (either may
// be empty), as tx sees them: what a plan's change of provisioner would
// strand (see billing.KeepsBackendInUse).
func CountLive(ctx context.Context, tx bun.IDB, planID string, ids []string) (int64, error) {
	q := tx.NewSelect().Model((*Service)(nil)).Where("status IN (?)", bun.List(liveStatuses))
	if len(ids) > 0 {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("plan_id = ?", planID).WhereOr("id IN (?)", bun.List(ids))
		})
	} else {
		q = q.Where("plan_id = ?", planID)
	}
	n, err := q.Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("services: counting services of plan %s: %w", planID, err)
	}
	return int64(n), nil
}

// Update is a change billing makes to what a service is: a new plan (at a
// plan change or renewal), a new generation of add-on options, a new
// account (a transfer). Each is a new wanted state for the backend.
type Update struct {
	PlanID        string // "" keeps the plan
	OptionsBumped bool
	AccountID     string // "" keeps the account
}

// UpdateIn applies u to svc in t, bumps the wanted-state version and
// queues the backend's sync (when there is a backend to tell). An empty
// update only touches updated_at.
func (s *Services) UpdateIn(ctx context.Context, t *txwork.Tx, svc *Service, u Update) error {
	cols := []string{"updated_at"}
	if u.PlanID != "" && u.PlanID != svc.PlanID {
		svc.PlanID = u.PlanID
		cols = append(cols, "plan_id")
	}
	if u.OptionsBumped {
		svc.OptionsVersion++
		cols = append(cols, "options_version")
	}
	if u.AccountID != "" && u.AccountID != svc.AccountID {
		svc.AccountID = u.AccountID
		cols = append(cols, "account_id")
	}
	changed := len(cols) > 1
	if changed {
		svc.StateVersion++
		cols = append(cols, "state_version")
	}
	svc.UpdatedAt = s.now()
	if _, err := t.NewUpdate().Model(svc).WherePK().Column(cols...).Exec(ctx); err != nil {
		return fmt.Errorf("services: updating service %s: %w", svc.ID, err)
	}
	if changed && svc.atBackend() {
		s.enqueueSync(t, svc)
	}
	return nil
}

// AttachPlanIn puts svc on a plan its backend already runs (staff attach a
// private plan made for it): no call reaches the backend.
func (s *Services) AttachPlanIn(ctx context.Context, t *txwork.Tx, svc *Service, planID string) error {
	svc.PlanID, svc.BackendPlanID, svc.UpdatedAt = planID, planID, s.now()
	if _, err := t.NewUpdate().Model(svc).WherePK().Column("plan_id", "backend_plan_id", "updated_at").Exec(ctx); err != nil {
		return fmt.Errorf("services: attaching %s to plan %s: %w", svc.ID, planID, err)
	}
	return nil
}

// Statuses are the statuses of the services among ids, by id.
func (s *Services) Statuses(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID     string `bun:"id"`
		Status string `bun:"status"`
	}
	if err := s.db.Read.NewSelect().Model((*Service)(nil)).Column("s.id", "s.status").Where("s.id IN (?)", bun.List(ids)).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("services: loading service statuses: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.Status
	}
	return out, nil
}
