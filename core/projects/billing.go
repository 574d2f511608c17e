package projects

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/ezscale/platform/core/services"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
)

// ServicesOf is the service records as this package reads them: a
// projection of core/services' facts (Facts and AccountFacts, the one
// shape other domains read services in), inside the ambient transaction
// when ctx carries one, else from the read pool. core/app wires it, and the
// tests of every package that builds projects use it too.
func ServicesOf(svcs *services.Services, db *database.DB) Services {
	return recordServices{svcs: svcs, db: db}
}

type recordServices struct {
	svcs *services.Services
	db   *database.DB
}

func (s recordServices) AccountServices(ctx context.Context, accountID string, ids []string) ([]ServiceInfo, error) {
	var facts []services.Fact
	switch {
	case ids == nil:
		var err error
		if facts, err = s.svcs.AccountFacts(ctx, s.db.ReadConn(ctx), accountID); err != nil {
			return nil, err
		}
	case len(ids) > 0:
		byID, err := s.svcs.Facts(ctx, s.db.ReadConn(ctx), ids)
		if err != nil {
			return nil, err
		}
		for _, f := range byID {
			if f.AccountID == accountID {
				facts = append(facts, f)
			}
		}
		slices.SortFunc(facts, func(a, b services.Fact) int { return cmp.Compare(a.ID, b.ID) })
	}
	out := make([]ServiceInfo, len(facts))
	for i, f := range facts {
		out[i] = ServiceInfo{ID: f.ID, AccountID: f.AccountID, Label: f.Label, Status: f.Status, PlanID: f.PlanID, PlanName: f.PlanName}
	}
	return out, nil
}

// AttachBilling hooks projects into billing's transactions: the
// termination guard before a customer's cancellation or a staff
// termination (CheckEnd, docs/projects.md), and the project of each
// invoice line's service when lines are written, so invoices filter by
// project. Call it while wiring (core/app/reactions.go).
func (s *Service) AttachBilling(b *billing.Billing) {
	b.OnEnding(func(ctx context.Context, tx bun.Tx, svc *billing.Service, confirmed bool) error {
		return s.CheckEnd(ctx, tx, svc.AccountID, svc.ID, confirmed)
	})
	b.OnInvoiceLines(s.stampProjects)
}

// stampProjects sets the project of each line of a service, as db sees it.
func (s *Service) stampProjects(ctx context.Context, db bun.IDB, lines []billing.InvoiceLine) error {
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
	of, err := s.ProjectsOf(ctx, db, ids)
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

// ServiceStatusChanged records, in the transaction of a service's status
// change (services.OnStatus), an outage starting when the service is
// suspended or its provisioning failed, and ending when it is active
// again, so its dependents are told once per outage (cascade alerts).
func (s *Service) ServiceStatusChanged(ctx context.Context, tx bun.Tx, svc *services.Service, _ string) error {
	switch svc.Status {
	case services.StatusSuspended:
		return s.ServiceDown(ctx, tx, svc.AccountID, svc.ID, CauseSuspended, "suspended")
	case services.StatusFailed:
		reason := "provisioning failed"
		if svc.LastError != "" {
			reason += ": " + svc.LastError
		}
		return s.ServiceDown(ctx, tx, svc.AccountID, svc.ID, CauseFailed, reason)
	case services.StatusActive:
		return s.ServiceUp(ctx, tx, svc.AccountID, svc.ID, CauseSuspended, CauseFailed)
	}
	return nil
}
