// Package provisioningtest records the usage samples other packages' tests
// need without a provisioner plugin to collect them, and builds
// provisioning for the tests whose services go to a backend. It is
// provisioning's own kit, so its tables are written here and nowhere else in other
// packages' tests. Imported by tests only.
package provisioningtest

import (
	"context"
	"fmt"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/provisioning"
)

// Sample stores a usage sample, as collecting it from the service's
// provisioner would.
func Sample(ctx context.Context, db *database.DB, s provisioning.UsageSample) error {
	if _, err := db.NewInsert().Model(&s).Exec(ctx); err != nil {
		return fmt.Errorf("provisioningtest: inserting a usage sample of %s: %w", s.ServiceID, err)
	}
	return nil
}

// BackendJobs builds provisioning over deps to work the backend jobs
// billing queues on services (Create, readiness and sync), with its
// periodic jobs off (no free-tier sweep, no usage collection): for the
// tests of other packages that order, suspend or end services. Attach, the
// free tier's hooks on billing, is left to the tests that want it.
func BackendJobs(deps provisioning.Deps) *provisioning.Service {
	opts := provisioning.DefaultOptions()
	opts.SweepInterval, opts.UsageInterval = -1, 0
	return provisioning.New(deps, opts)
}
