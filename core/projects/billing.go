package projects

import (
	"cmp"
	"context"
	"slices"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
)

// BillingServices is billing's services as this package reads them: a
// projection of billing's service facts (billing.ServiceFacts and
// AccountServiceFacts, the one shape other domains read services in),
// inside the ambient transaction when ctx carries one. core/app wires it,
// and the tests of every package that builds projects use it too.
func BillingServices(b *billing.Billing, db *database.DB) Services {
	return billingServices{b: b, db: db}
}

type billingServices struct {
	b  *billing.Billing
	db *database.DB
}

func (s billingServices) AccountServices(ctx context.Context, accountID string, ids []string) ([]ServiceInfo, error) {
	var facts []billing.ServiceFact
	switch {
	case ids == nil:
		var err error
		if facts, err = s.b.AccountServiceFacts(ctx, s.db.Conn(ctx), accountID); err != nil {
			return nil, err
		}
	case len(ids) > 0:
		byID, err := s.b.ServiceFacts(ctx, s.db.Conn(ctx), ids)
		if err != nil {
			return nil, err
		}
		for _, f := range byID {
			if f.AccountID == accountID {
				facts = append(facts, f)
			}
		}
		slices.SortFunc(facts, func(a, b billing.ServiceFact) int { return cmp.Compare(a.ID, b.ID) })
	}
	out := make([]ServiceInfo, len(facts))
	for i, f := range facts {
		out[i] = ServiceInfo{ID: f.ID, AccountID: f.AccountID, Label: f.Label, Status: f.Status, PlanID: f.PlanID, PlanName: f.PlanName}
	}
	return out, nil
}
