package accounts

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// StaffAtLeast reports whether the staff role has at least the role min.
func StaffAtLeast(role, min string) bool {
	return role != "" && staffRank[role] >= staffRank[min]
}

// StaffIDs lists the enabled staff users holding one of roles, by id: who
// the high-risk gate tells (core/approval).
func (s *Service) StaffIDs(ctx context.Context, roles ...string) ([]string, error) {
	var ids []string
	if len(roles) == 0 {
		return nil, nil
	}
	err := s.db.Read.NewSelect().Model((*User)(nil)).Column("id").
		Where("staff_role IN (?)", bun.List(roles)).Where("disabled_at IS NULL").Order("id ASC").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("accounts: listing staff: %w", err)
	}
	return ids, nil
}
