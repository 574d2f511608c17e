package app

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/projects"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/core/services"
)

// watchOutages tells projects, in the transaction of each change, when a
// service goes down (suspended, provisioning failed, auto-recovery's check
// failing) and when it is up again (active once more, a check passing), so
// the dependents of the service are told once per outage (cascade alerts,
// docs/projects.md).
func watchOutages(svcs *services.Services, sch *scheduler.Service, p *projects.Service) {
	svcs.OnStatus(p.ServiceStatusChanged)
	sch.OnHealth(func(ctx context.Context, tx bun.Tx, ch scheduler.HealthChange) error {
		if ch.State == scheduler.StateUp {
			return p.ServiceUp(ctx, tx, ch.AccountID, ch.ServiceID, projects.CauseHealthCheck)
		}
		return p.ServiceDown(ctx, tx, ch.AccountID, ch.ServiceID, projects.CauseHealthCheck, ch.Reason)
	})
}
