package catalog

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/pluginoption"
	"github.com/ezscale/platform/sdk"
)

// Provisioner options: staff set them on plans and add-ons, and a plan
// offers some to customers at order, each checked against the option
// declaration the provisioner plugin gave in Describe (see package
// pluginoption for the rules and docs/billing.md for the API).

// RecordOptions stores the option declaration of a plugin that has just
// described itself, so plans can be checked while it is not running.
// `ezscale catalog import` calls it.
func (cat *Catalog) RecordOptions(ctx context.Context, plugin, version string, opts sdk.Options) error {
	return cat.options.Record(ctx, plugin, version, opts)
}

// OptionDeclaration returns a provisioner plugin's option declaration: the
// running host's, else the last one stored. Errors: Unavailable when the
// plugin has never described itself.
func (cat *Catalog) OptionDeclaration(ctx context.Context, plugin string) (pluginoption.Declaration, error) {
	return cat.options.Get(ctx, cat.plugins, plugin)
}

// Options returns the plan's provisioner options.
func (p *Plan) Options() map[string]string { return decodeOptions(p.PluginOptions) }

// Offered returns what the plan offers customers to choose at order.
func (p *Plan) Offered() pluginoption.Offered {
	o := pluginoption.Offered{}
	_ = json.Unmarshal([]byte(p.OrderOptions), &o)
	return o
}

// Options of an add-on for the provisioner.
func (a *Addon) Options() map[string]string { return decodeOptions(a.PluginOptions) }

func decodeOptions(s string) map[string]string {
	m := map[string]string{}
	_ = json.Unmarshal([]byte(s), &m)
	return m
}

// checkPlanOptions checks a plan's staff options and its offer to
// customers against its plugin's declaration. A plan with neither needs no
// declaration. Errors: Unprocessable naming plugin_options.<key> and
// order_options.<key>; Unavailable when the plugin never described itself.
func (cat *Catalog) checkPlanOptions(ctx context.Context, p *Plan) error {
	opts, offered := p.Options(), p.Offered()
	if len(opts) == 0 && len(offered) == 0 {
		return nil
	}
	d, err := cat.OptionDeclaration(ctx, p.Plugin)
	if err != nil {
		return err
	}
	var errs apperr.Fields
	pluginoption.CheckPlan(d.Options, p.Plugin, opts, offered, &errs)
	return pluginoption.Refused(errs)
}

// checkAddonOptions checks an add-on's staff options against the
// declaration of every plugin whose plans it is offered with (every plan's
// when it names none). Errors as checkPlanOptions.
func (cat *Catalog) checkAddonOptions(ctx context.Context, db bun.IDB, a *Addon) error {
	opts := a.Options()
	if len(opts) == 0 {
		return nil
	}
	q := db.NewSelect().Model((*Plan)(nil)).Column("plugin").Distinct().Order("plugin ASC")
	if ids := a.Plans(); len(ids) > 0 {
		q = q.Where("id IN (?)", bun.List(ids))
	}
	var plugins []string
	if err := q.Scan(ctx, &plugins); err != nil {
		return err
	}
	var errs apperr.Fields
	for _, plugin := range slices.Compact(plugins) {
		d, err := cat.OptionDeclaration(ctx, plugin)
		if err != nil {
			return err
		}
		pluginoption.CheckStaff(d.Options, plugin, "plugin_options", opts, &errs)
	}
	return pluginoption.Refused(errs)
}
