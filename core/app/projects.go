package app

import (
	"context"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/projects"
)

// billingServices lets the projects package read billing's services
// (their ids, labels, statuses and plans) without touching billing's
// tables.
type billingServices struct{ b *billing.Billing }

func (s billingServices) AccountServices(ctx context.Context, accountID string, ids []string) ([]projects.ServiceInfo, error) {
	rows, err := s.b.ServiceSummaries(ctx, accountID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]projects.ServiceInfo, len(rows))
	for i, r := range rows {
		out[i] = projects.ServiceInfo{ID: r.ID, AccountID: r.AccountID, Label: r.Label, Status: r.Status, PlanID: r.PlanID, PlanName: r.PlanName}
	}
	return out, nil
}

var (
	_ projects.Services        = billingServices{}
	_ billing.DependentsGuard  = (*projects.Service)(nil)
	_ billing.ProjectDirectory = (*projects.Service)(nil)
)
