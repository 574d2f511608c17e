package projects

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
)

// CheckEnd is the termination guard: billing calls it in the transaction
// that would cancel or terminate serviceID. Unless confirmed, it refuses
// (Conflict service_has_dependents) while live services depend on it,
// naming each in errors (dependents[i]) after confirm_dependents. It locks
// the account's graph first, so no dependency on the service can be added
// while it ends.
func (s *Service) CheckEnd(ctx context.Context, tx bun.Tx, accountID, serviceID string, confirmed bool) error {
	if confirmed {
		return nil
	}
	if err := lockGraph(ctx, tx, accountID, s.now()); err != nil {
		return err
	}
	var deps []Dependency
	if err := tx.NewSelect().Model(&deps).Column("service_id", "type", "critical").Where("depends_on_id = ?", serviceID).
		Where("account_id = ?", accountID).Order("service_id").Scan(ctx); err != nil {
		return fmt.Errorf("projects: loading the dependents of %s: %w", serviceID, err)
	}
	if len(deps) == 0 {
		return nil
	}
	ids := make([]string, len(deps))
	for i, d := range deps {
		ids[i] = d.ServiceID
	}
	infos, err := s.services.AccountServices(ctx, accountID, ids)
	if err != nil {
		return err
	}
	live := map[string]ServiceInfo{}
	for _, in := range infos {
		if in.Live() {
			live[in.ID] = in
		}
	}
	if len(live) == 0 {
		return nil
	}
	fields := []apperr.FieldError{{Field: "confirm_dependents", Message: "must be true to end a service that other services depend on"}}
	for _, d := range deps {
		in, ok := live[d.ServiceID]
		if !ok {
			continue
		}
		kind := d.Type + " dependency"
		if d.Critical {
			kind = "critical " + kind
		}
		fields = append(fields, apperr.FieldError{Field: fmt.Sprintf("dependents[%d]", len(fields)-1),
			Message: fmt.Sprintf("%s (%s) depends on this service (%s)", in.name(), in.ID, kind)})
	}
	return &apperr.Error{Code: apperr.Conflict, Reason: "service_has_dependents", Fields: fields,
		Message: fmt.Sprintf("%d services depend on this one; repeat the request with confirm_dependents true to end it anyway", len(fields)-1)}
}
