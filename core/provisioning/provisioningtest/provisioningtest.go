// Package provisioningtest records the usage samples other packages' tests
// need without a provisioner plugin to collect them. It is provisioning's
// own kit, so its tables are written here and nowhere else in other
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
