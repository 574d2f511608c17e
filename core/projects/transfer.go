package projects

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// TransferMove is what projects did for a service transferred to another
// account.
type TransferMove struct {
	// ProjectID is the sender's project the service left ("" when it was in
	// none).
	ProjectID string `json:"project_id,omitempty"`
	// Dependencies are the dependency edges removed: a dependency never
	// joins services of two accounts, so every edge to or from the service
	// goes with the transfer.
	Dependencies []string `json:"dependencies,omitempty"`
}

// TransferServiceTx clears what ties a service to the account it leaves,
// in the transfer's transaction: its project membership and every
// dependency edge to or from it (under the sender's graph lock); an
// outage being recorded follows the service to the receiver. The service
// arrives in no project, with no dependencies.
func (s *Service) TransferServiceTx(ctx context.Context, tx bun.Tx, serviceID, from, to string) (*TransferMove, error) {
	mv := &TransferMove{}
	if err := lockGraph(ctx, tx, from, s.now()); err != nil {
		return nil, err
	}
	var projectIDs []string
	if err := tx.NewSelect().Model((*assignment)(nil)).Column("project_id").Where("service_id = ?", serviceID).Scan(ctx, &projectIDs); err != nil {
		return nil, fmt.Errorf("projects: loading the project of %s: %w", serviceID, err)
	}
	if len(projectIDs) > 0 {
		mv.ProjectID = projectIDs[0]
		if _, err := tx.NewDelete().Model((*assignment)(nil)).Where("service_id = ?", serviceID).Exec(ctx); err != nil {
			return nil, fmt.Errorf("projects: removing service %s from its project: %w", serviceID, err)
		}
	}
	if err := tx.NewSelect().Model((*Dependency)(nil)).Column("id").
		Where("service_id = ? OR depends_on_id = ?", serviceID, serviceID).Order("id").Scan(ctx, &mv.Dependencies); err != nil {
		return nil, fmt.Errorf("projects: loading the dependencies of %s: %w", serviceID, err)
	}
	if len(mv.Dependencies) > 0 {
		if _, err := tx.NewDelete().Model((*Dependency)(nil)).Where("id IN (?)", bun.List(mv.Dependencies)).Exec(ctx); err != nil {
			return nil, fmt.Errorf("projects: removing the dependencies of %s: %w", serviceID, err)
		}
	}
	if _, err := tx.NewUpdate().Table("service_outages").Set("account_id = ?", to).Where("service_id = ?", serviceID).Exec(ctx); err != nil {
		return nil, fmt.Errorf("projects: moving the outage of %s: %w", serviceID, err)
	}
	return mv, nil
}
