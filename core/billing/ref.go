package billing

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// What a provisioner is told about a service is built in one place,
// core/provisioning (ProvisionerRef, ProvisionerViews): from the service
// (its plan, the customer's options, its backend), the add-ons it holds,
// the catalog and the customer. Billing hands over its part here, as db
// sees it, in a fixed number of queries whatever the count.

// AddonIDsTx are the add-ons each of the services holds, by service id,
// each list in add-on id order (the order their options are merged in).
func (b *Billing) AddonIDsTx(ctx context.Context, db bun.IDB, serviceIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(serviceIDs) == 0 {
		return out, nil
	}
	var held []ServiceAddon
	if err := db.NewSelect().Model(&held).Where("service_id IN (?)", bun.List(serviceIDs)).Order("service_id", "addon_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: loading add-ons: %w", err)
	}
	for _, sa := range held {
		out[sa.ServiceID] = append(out[sa.ServiceID], sa.AddonID)
	}
	return out, nil
}
