package billing

import (
	"context"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/pluginoption"
	"github.com/ezscale/platform/core/catalog"
)

// Provisioner options: staff set them on plans and add-ons, customers
// choose those a plan offers at order, each checked against the option
// declaration the provisioner plugin gave in Describe (see package
// pluginoption for the rules and docs/billing.md for the API). The
// declarations are the catalog's (OptionDeclaration).

// checkOrderOptions checks a customer's options at order against the
// plan's plugin's declaration and what the plan offers. Errors:
// Unprocessable naming options.<key>; Unavailable when the plugin never
// described itself.
func (b *Billing) checkOrderOptions(ctx context.Context, plan *catalog.Plan, opts map[string]string) error {
	if len(opts) == 0 {
		return nil
	}
	d, err := b.catalog.OptionDeclaration(ctx, plan.Plugin)
	if err != nil {
		return err
	}
	var errs apperr.Fields
	pluginoption.CheckOrder(d.Options, plan.Offered(), opts, &errs)
	return pluginoption.Refused(errs)
}
