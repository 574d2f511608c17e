package app

import (
	"context"

	"github.com/ezscale/platform/core/services"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/monitoring"
	"github.com/ezscale/platform/core/scheduler"
)

// gameServices lets monitoring read the game services (their
// owners, states and provisioner attributes) without touching core/services'
// tables.
type gameServices struct{ s *services.Services }

func gameService(s services.GameService) monitoring.GameService {
	live := s.Status == services.StatusActive || s.Status == services.StatusSuspended
	return monitoring.GameService{ID: s.ID, AccountID: s.AccountID, Label: s.Label, Live: live, Running: s.Running, Attributes: s.Attributes}
}

func (g gameServices) ActiveGameServices(ctx context.Context, after string, limit int) ([]monitoring.GameService, error) {
	rows, err := g.s.GameServices(ctx, services.GameServiceFilter{Active: true, After: after, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]monitoring.GameService, len(rows))
	for i, r := range rows {
		out[i] = gameService(r)
	}
	return out, nil
}

func (g gameServices) GameServices(ctx context.Context, ids []string) (map[string]monitoring.GameService, error) {
	rows, err := g.s.GameServices(ctx, services.GameServiceFilter{IDs: ids})
	if err != nil {
		return nil, err
	}
	out := make(map[string]monitoring.GameService, len(rows))
	for _, r := range rows {
		out[r.ID] = gameService(r)
	}
	return out, nil
}

func (g gameServices) AccountGameService(ctx context.Context, accountID, serviceID string) (*monitoring.GameService, error) {
	rows, err := g.s.GameServices(ctx, services.GameServiceFilter{AccountID: accountID, IDs: []string{serviceID}})
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, apperr.NotFoundf("game service not found")
	}
	s := gameService(rows[0])
	return &s, nil
}

// monitoringHealth raises what a listing shows through auto-recovery's
// health path (scheduler.ReportHealth): the same hooks, so the same alerts
// (projects' outages and cascade alerts).
func monitoringHealth(sch *scheduler.Service) monitoring.HealthFunc {
	return func(ctx context.Context, tx bun.Tx, accountID, serviceID string, down bool, reason string) error {
		ch := scheduler.HealthChange{AccountID: accountID, ServiceID: serviceID, State: scheduler.StateUp}
		if down {
			ch.State, ch.Reason = scheduler.StateDown, reason
		}
		return sch.ReportHealth(ctx, tx, ch)
	}
}
