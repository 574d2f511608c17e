package billing

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// DependentsGuard refuses to end a service that other services depend on
// (core/projects' termination guard). Billing calls it inside the
// transaction of a customer's cancellation and of a staff termination,
// with the request's confirm_dependents; it answers an *apperr.Error
// (Conflict service_has_dependents, naming the dependents) to refuse.
type DependentsGuard interface {
	CheckEnd(ctx context.Context, tx bun.Tx, accountID, serviceID string, confirmed bool) error
}

// ProjectDirectory says which project each service is in (core/projects),
// so that an invoice line carries the project of its service when the
// invoice is written.
type ProjectDirectory interface {
	// ProjectsOf maps each of the services that is in a project to the
	// project's id, as db sees it.
	ProjectsOf(ctx context.Context, db bun.IDB, serviceIDs []string) (map[string]string, error)
}

// SetProjects connects billing to the projects package (app wiring, before
// use): the termination guard and the project of invoice lines. Until then
// nothing is guarded and lines carry no project.
func (b *Billing) SetProjects(g DependentsGuard, d ProjectDirectory) { b.guard, b.projects = g, d }

// checkEnd runs the termination guard, when there is one.
func (b *Billing) checkEnd(ctx context.Context, t *txn, svc *Service, confirmed bool) error {
	if b.guard == nil {
		return nil
	}
	return b.guard.CheckEnd(ctx, t.Tx, svc.AccountID, svc.ID, confirmed)
}

// stampProjects sets the project of each line of a service, as db sees it.
func (b *Billing) stampProjects(ctx context.Context, db bun.IDB, lines []InvoiceLine) error {
	if b.projects == nil {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	for _, l := range lines {
		if l.ServiceID != nil && !seen[*l.ServiceID] {
			seen[*l.ServiceID] = true
			ids = append(ids, *l.ServiceID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	of, err := b.projects.ProjectsOf(ctx, db, ids)
	if err != nil {
		return fmt.Errorf("billing: loading the projects of invoice lines: %w", err)
	}
	for i, l := range lines {
		if l.ServiceID == nil {
			continue
		}
		if p, ok := of[*l.ServiceID]; ok {
			lines[i].ProjectID = &p
		}
	}
	return nil
}

// ServiceSummary is what other domains read of a service and its plan.
type ServiceSummary struct {
	ID        string `bun:"id"`
	AccountID string `bun:"account_id"`
	Label     string `bun:"label"`
	Status    string `bun:"status"`
	PlanID    string `bun:"plan_id"`
	PlanName  string `bun:"plan_name"`
}

// ServiceSummaries returns the account's services among ids (others'
// and unknown ids are absent), or all of them when ids is nil, in id
// order, in one query; inside the ambient transaction when ctx carries
// one.
func (b *Billing) ServiceSummaries(ctx context.Context, accountID string, ids []string) ([]ServiceSummary, error) {
	var out []ServiceSummary
	if ids != nil && len(ids) == 0 {
		return out, nil
	}
	q := b.db.Conn(ctx).NewSelect().TableExpr("services AS s").Join("JOIN plans AS p ON p.id = s.plan_id").
		ColumnExpr("s.id, s.account_id, s.label, s.status, s.plan_id, p.name AS plan_name").
		Where("s.account_id = ?", accountID).OrderExpr("s.id")
	if ids != nil {
		q = q.Where("s.id IN (?)", bun.List(ids))
	}
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("billing: loading services of %s: %w", accountID, err)
	}
	return out, nil
}
