package billing

import (
	"context"

	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// ProvisionerRef is what a service's provisioner is told about it, exactly
// as provisioning and backend sync tell it (the plan's options over the
// add-ons' over the customer's, and the customer), with the service's plan
// (whose Plugin names the provisioner). Other domains calling the
// provisioner for a service (power, SSO login, usage) use it, outside any
// transaction. A service whose backend runs a plan of another provisioner
// is refused (Conflict, service_backend_fixed): see checkBackendPlugin.
func (b *Billing) ProvisionerRef(ctx context.Context, svc *Service) (*pb.ServiceRef, *Plan, error) {
	plan, err := b.Plan(ctx, svc.PlanID)
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
