package billing

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/pluginoption"
	"github.com/ezscale/platform/core/catalog"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// ProvisionerRef is what a service's provisioner is told about it, exactly
// as provisioning and backend sync tell it (the plan's options over the
// add-ons' over the customer's, and the customer), with the service's plan
// (whose Plugin names the provisioner). Other domains calling the
// provisioner for a service (power, SSO login, usage) use it, outside any
// transaction. A service whose backend runs a plan of another provisioner
// is refused (Conflict, service_backend_fixed): see checkBackendPlugin.
func (b *Billing) ProvisionerRef(ctx context.Context, svc *Service) (*pb.ServiceRef, *catalog.Plan, error) {
	plan, err := b.catalog.PlanTx(ctx, b.db.Conn(ctx), svc.PlanID)
	if err != nil {
		return nil, nil, err
	}
	if err := b.checkBackendPlugin(ctx, svc, plan); err != nil {
		return nil, nil, err
	}
	ref, err := b.serviceRef(ctx, svc, plan)
	if err != nil {
		return nil, nil, err
	}
	return ref, plan, nil
}

// ProvisionerView is what a service's provisioner is told about it (Ref,
// and Plugin names the provisioner), or why it is told nothing: Refused
// when the service runs at another backend than its plan's, or its
// plugin's option declaration is unknown.
type ProvisionerView struct {
	Ref     *pb.ServiceRef
	Plugin  string
	Refused error
}

// ProvisionerViews is ProvisionerRef for many services at once, in a fixed
// number of queries whatever their count (the scheduler's chunks of runs,
// usage collection's pages), inside the ambient transaction when ctx
// carries one, else from the read pool. Services that do not exist are
// absent from the map.
func (b *Billing) ProvisionerViews(ctx context.Context, serviceIDs []string) (map[string]ProvisionerView, error) {
	out := make(map[string]ProvisionerView, len(serviceIDs))
	if len(serviceIDs) == 0 {
		return out, nil
	}
	db := b.db.ReadConn(ctx)
	var svcs []*Service
	if err := db.NewSelect().Model(&svcs).Where("id IN (?)", bun.List(serviceIDs)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: loading %d services: %w", len(serviceIDs), err)
	}
	planIDs, accountIDs := map[string]bool{}, map[string]bool{}
	for _, s := range svcs {
		planIDs[s.PlanID], accountIDs[s.AccountID] = true, true
		if s.BackendPlanID != "" {
			planIDs[s.BackendPlanID] = true
		}
	}
	planByID, err := b.catalog.PlansByID(ctx, db, slices.Collect(maps.Keys(planIDs)))
	if err != nil {
		return nil, err
	}
	var held []ServiceAddon
	if err := db.NewSelect().Model(&held).Where("service_id IN (?)", bun.List(serviceIDs)).Order("service_id", "addon_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: loading add-ons: %w", err)
	}
	addonOptions := map[string][]map[string]string{}
	if len(held) > 0 {
		addonIDs := map[string]bool{}
		for _, sa := range held {
			addonIDs[sa.AddonID] = true
		}
		byID, err := b.catalog.AddonsByID(ctx, db, slices.Collect(maps.Keys(addonIDs)))
		if err != nil {
			return nil, err
		}
		for _, sa := range held {
			if a := byID[sa.AddonID]; a != nil {
				addonOptions[sa.ServiceID] = append(addonOptions[sa.ServiceID], a.Options())
			}
		}
	}
	custByID, err := b.accounts.Customers(ctx, db, slices.Collect(maps.Keys(accountIDs)))
	if err != nil {
		return nil, fmt.Errorf("billing: loading customers: %w", err)
	}
	decls := map[string]pluginoption.Declaration{}
	declErrs := map[string]error{}
	for _, s := range svcs {
		plan := planByID[s.PlanID]
		if plan == nil {
			continue
		}
		v := ProvisionerView{Plugin: plan.Plugin}
		if backend := planByID[s.BackendPlanID]; s.BackendPlanID != "" && s.BackendPlanID != plan.ID &&
			(backend == nil || backend.Plugin != plan.Plugin || backend.ServiceType != plan.ServiceType) {
			v.Refused = errBackendMoved()
			out[s.ID] = v
			continue
		}
		if _, seen := decls[plan.Plugin]; !seen {
			d, err := b.catalog.OptionDeclaration(ctx, plan.Plugin)
			if err != nil && apperr.CodeOf(err) == apperr.Internal {
				return nil, err
			}
			decls[plan.Plugin], declErrs[plan.Plugin] = d, err
		}
		if err := declErrs[plan.Plugin]; err != nil {
			v.Refused = err
		} else {
			v.Ref = refOf(s, plan, decls[plan.Plugin], addonOptions[s.ID], custByID[s.AccountID])
		}
		out[s.ID] = v
	}
	return out, nil
}
