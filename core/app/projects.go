package app

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/projects"
	"github.com/ezscale/platform/core/scheduler"
)

// guardAndStamp hooks projects into billing's transactions: the
// termination guard before a service ends (docs/projects.md), and the
// project of each invoice line's service when lines are written, so
// invoices filter by project.
func guardAndStamp(b *billing.Billing, p *projects.Service) {
	b.OnEnding(func(ctx context.Context, tx bun.Tx, svc *billing.Service, confirmed bool) error {
		return p.CheckEnd(ctx, tx, svc.AccountID, svc.ID, confirmed)
	})
	b.OnInvoiceLines(func(ctx context.Context, db bun.IDB, lines []billing.InvoiceLine) error {
		return stampProjects(ctx, db, p, lines)
	})
}

// stampProjects sets the project of each line of a service, as db sees it.
func stampProjects(ctx context.Context, db bun.IDB, p *projects.Service, lines []billing.InvoiceLine) error {
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
	of, err := p.ProjectsOf(ctx, db, ids)
	if err != nil {
		return fmt.Errorf("loading the projects of invoice lines: %w", err)
	}
	for i, l := range lines {
		if l.ServiceID == nil {
			continue
		}
		if id, ok := of[*l.ServiceID]; ok {
			lines[i].ProjectID = &id
		}
	}
	return nil
}

// watchOutages tells projects, in the transaction of each change, when a
// service goes down (suspended, provisioning failed, auto-recovery's check
// failing) and when it is up again (active once more, a check passing), so
// the dependents of the service are told once per outage (cascade alerts,
// docs/projects.md).
func watchOutages(b *billing.Billing, sch *scheduler.Service, p *projects.Service) {
	b.OnServiceStatus(func(ctx context.Context, tx bun.Tx, svc *billing.Service, from string) error {
		switch svc.Status {
		case billing.StatusSuspended:
			return p.ServiceDown(ctx, tx, svc.AccountID, svc.ID, projects.CauseSuspended, "suspended")
		case billing.StatusFailed:
			reason := "provisioning failed"
			if svc.LastError != "" {
				reason += ": " + svc.LastError
			}
			return p.ServiceDown(ctx, tx, svc.AccountID, svc.ID, projects.CauseFailed, reason)
		case billing.StatusActive:
			return p.ServiceUp(ctx, tx, svc.AccountID, svc.ID, projects.CauseSuspended, projects.CauseFailed)
		}
		return nil
	})
	sch.OnHealth(func(ctx context.Context, tx bun.Tx, ch scheduler.HealthChange) error {
		if ch.State == scheduler.StateUp {
			return p.ServiceUp(ctx, tx, ch.AccountID, ch.ServiceID, projects.CauseHealthCheck)
		}
		return p.ServiceDown(ctx, tx, ch.AccountID, ch.ServiceID, projects.CauseHealthCheck, ch.Reason)
	})
}
