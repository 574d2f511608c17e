package community

import "context"

// ClaimRoleSync lets the tests claim a user's pending role-sync request as
// a sync job does.
func ClaimRoleSync(ctx context.Context, s *Service, userID string) (bool, error) {
	return s.claimRoleSync(ctx, userID)
}
