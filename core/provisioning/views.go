package provisioning

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/pluginoption"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/services"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// What a service's provisioner is told about it is built here and nowhere
// else (refOf), so that Create, a readiness poll, a sync, a power action,
// an SSO login, a usage sample and a scheduled task tell the plugin the
// same: the options its plugin declares (the plan's over the add-ons' over
// the customer's, see pluginoption.View) and the customer.

// View is what a service's provisioner is told about it (Ref, and Plugin
// names the provisioner), or why it is told nothing: Refused when the
// service runs at another backend than its plan's, or its plugin's option
// declaration is unknown.
type View struct {
	Ref     *pb.ServiceRef
	Plugin  string
	Refused error
}

// ProvisionerRef is what a service's provisioner is told about it, with
// the service's plan (whose Plugin names the provisioner), for a call
// made outside any transaction (power, SSO login). A service whose backend
// runs a plan of another provisioner or service type is refused
// (Conflict, service_backend_fixed): its external_id belongs to the other
// plugin, and acting on it there could reach someone else's server.
func (s *Service) ProvisionerRef(ctx context.Context, svc *services.Service) (*pb.ServiceRef, *catalog.Plan, error) {
	return s.describe(ctx, s.db.ReadConn(ctx), svc, true)
}

// backendRef is ProvisionerRef for the backend jobs, which act on the plan
// the service is on (a sync of a service moved across backends before the
// rule held still reaches its plan's provisioner, as it always did).
func (s *Service) backendRef(ctx context.Context, svc *services.Service) (*pb.ServiceRef, *catalog.Plan, error) {
	return s.describe(ctx, s.db.Conn(ctx), svc, false)
}

// describe is the description of one service as db sees its inputs, and
// its plan; refuseElsewhere refuses a service whose backend runs another
// provisioner's plan (runsElsewhere).
func (s *Service) describe(ctx context.Context, db bun.IDB, svc *services.Service, refuseElsewhere bool) (*pb.ServiceRef, *catalog.Plan, error) {
	in, err := s.readRefInputs(ctx, db, []*services.Service{svc})
	if err != nil {
		return nil, nil, err
	}
	plan := in.plans[svc.PlanID]
	if plan == nil {
		return nil, nil, fmt.Errorf("provisioning: the plan %s of service %s is missing", svc.PlanID, svc.ID)
	}
	if refuseElsewhere && runsElsewhere(svc, plan, in.plans) {
		return nil, nil, errBackendMoved()
	}
	decl, err := s.catalog.OptionDeclaration(ctx, plan.Plugin)
	if err != nil {
		return nil, nil, err
	}
	return refOf(svc, plan, decl, in.addonOptions[svc.ID], in.customers[svc.AccountID]), plan, nil
}

// ProvisionerViews is ProvisionerRef for many services at once, in a fixed
// number of queries whatever their count (the scheduler's chunks of runs,
// usage collection's pages), inside the ambient transaction when ctx
// carries one, else from the read pool. Services that do not exist are
// absent from the map.
func (s *Service) ProvisionerViews(ctx context.Context, serviceIDs []string) (map[string]View, error) {
	out := make(map[string]View, len(serviceIDs))
	if len(serviceIDs) == 0 {
		return out, nil
	}
	db := s.db.ReadConn(ctx)
	svcs, err := s.services.ServicesTx(ctx, db, serviceIDs)
	if err != nil {
		return nil, err
	}
	in, err := s.readRefInputs(ctx, db, svcs)
	if err != nil {
		return nil, err
	}
	decls := map[string]pluginoption.Declaration{}
	declErrs := map[string]error{}
	for _, svc := range svcs {
		plan := in.plans[svc.PlanID]
		if plan == nil {
			continue
		}
		v := View{Plugin: plan.Plugin}
		if runsElsewhere(svc, plan, in.plans) {
			v.Refused = errBackendMoved()
			out[svc.ID] = v
			continue
		}
		if _, seen := decls[plan.Plugin]; !seen {
			d, err := s.catalog.OptionDeclaration(ctx, plan.Plugin)
			if err != nil && apperr.CodeOf(err) == apperr.Internal {
				return nil, err
			}
			decls[plan.Plugin], declErrs[plan.Plugin] = d, err
		}
		if err := declErrs[plan.Plugin]; err != nil {
			v.Refused = err
		} else {
			v.Ref = refOf(svc, plan, decls[plan.Plugin], in.addonOptions[svc.ID], in.customers[svc.AccountID])
		}
		out[svc.ID] = v
	}
	return out, nil
}

// refInputs is what the descriptions of some services are built from
// besides the services: their plans (and the plans their backends run),
// their add-ons' options in merge order, and their customers.
type refInputs struct {
	plans        map[string]*catalog.Plan
	addonOptions map[string][]map[string]string
	customers    map[string]accounts.Customer
}

// readRefInputs reads the inputs of svcs' descriptions as db sees them,
// in a fixed number of queries.
func (s *Service) readRefInputs(ctx context.Context, db bun.IDB, svcs []*services.Service) (refInputs, error) {
	var in refInputs
	planIDs, accountIDs, serviceIDs := map[string]bool{}, map[string]bool{}, make([]string, 0, len(svcs))
	for _, svc := range svcs {
		planIDs[svc.PlanID], accountIDs[svc.AccountID] = true, true
		if svc.BackendPlanID != "" {
			planIDs[svc.BackendPlanID] = true
		}
		serviceIDs = append(serviceIDs, svc.ID)
	}
	var err error
	if in.plans, err = s.catalog.PlansByID(ctx, db, slices.Collect(maps.Keys(planIDs))); err != nil {
		return in, err
	}
	held, err := s.billing.AddonIDsTx(ctx, db, serviceIDs)
	if err != nil {
		return in, err
	}
	in.addonOptions = map[string][]map[string]string{}
	if len(held) > 0 {
		addonIDs := map[string]bool{}
		for _, ids := range held {
			for _, id := range ids {
				addonIDs[id] = true
			}
		}
		byID, err := s.catalog.AddonsByID(ctx, db, slices.Collect(maps.Keys(addonIDs)))
		if err != nil {
			return in, err
		}
		for serviceID, ids := range held {
			for _, id := range ids {
				if a := byID[id]; a != nil {
					in.addonOptions[serviceID] = append(in.addonOptions[serviceID], a.Options())
				}
			}
		}
	}
	if in.customers, err = s.accounts.Customers(ctx, db, slices.Collect(maps.Keys(accountIDs))); err != nil {
		return in, fmt.Errorf("provisioning: loading customers: %w", err)
	}
	return in, nil
}

// refOf is the one description of a service its provisioner gets: the
// options its plugin declares (the add-ons' under the plan's under the
// customer's, see pluginoption.View) and the customer.
func refOf(svc *services.Service, plan *catalog.Plan, decl pluginoption.Declaration, addonOptions []map[string]string, cust accounts.Customer) *pb.ServiceRef {
	src := pluginoption.Sources{Plan: plan.Options(), Offered: plan.Offered(), Customer: svc.CustomerOptions(), Addons: addonOptions}
	return &pb.ServiceRef{
		ServiceId: svc.ID, ExternalId: svc.ExternalID, PlanOptions: pluginoption.View(decl.Options, src),
		Customer: &pb.Customer{AccountId: svc.AccountID, Name: cust.Name, Email: cust.Email},
	}
}

// runsElsewhere reports whether svc's backend runs a plan of another
// provisioner or service type than its plan (a service moved across
// backends before billing's rule held, see billing.ReasonBackendFixed).
func runsElsewhere(svc *services.Service, plan *catalog.Plan, plans map[string]*catalog.Plan) bool {
	if svc.BackendPlanID == "" || svc.BackendPlanID == plan.ID {
		return false
	}
	backend := plans[svc.BackendPlanID]
	return backend == nil || backend.Plugin != plan.Plugin || backend.ServiceType != plan.ServiceType
}

// errBackendMoved refuses to tell a provisioner about a service that runs
// at another backend than its plan's.
func errBackendMoved() error {
	return apperr.New(apperr.Conflict, "this service runs at another backend than its plan's; our staff must reconcile it first").
		WithReason(billing.ReasonBackendFixed)
}
