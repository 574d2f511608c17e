// Package catalogtest makes the plans and add-ons other packages' tests
// and benchmarks need, straight into the catalog's tables and without the
// option checks CreatePlan makes against a plugin's declaration. It is the
// catalog's own kit, so the catalog's tables are written here and nowhere
// else in other packages' tests. Imported by tests only.
package catalogtest

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ezscale/platform/core/database"
)

func id() string { return uuid.Must(uuid.NewV7()).String() }

// Plan inserts an active VPS plan served by the provisioner plugin and
// returns its id.
func Plan(ctx context.Context, db *database.DB, plugin string, monthly int64) (string, error) {
	return PlanOf(ctx, db, PlanSpec{Plugin: plugin, MonthlyPrice: monthly, PluginOptions: `{"package":"1"}`})
}

// PlanSpec describes a plan PlanOf inserts. Zero fields take the
// defaults: named "Plan " and the end of its id, service type vps,
// currency USD, no plugin options.
type PlanSpec struct {
	Name          string
	ServiceType   string
	Currency      string
	Plugin        string
	MonthlyPrice  int64
	PluginOptions string // JSON
}

// PlanOf inserts an active plan as spec describes and returns its id.
func PlanOf(ctx context.Context, db *database.DB, spec PlanSpec) (string, error) {
	spec.ServiceType = cmp.Or(spec.ServiceType, "vps")
	spec.Currency = cmp.Or(spec.Currency, "USD")
	spec.PluginOptions = cmp.Or(spec.PluginOptions, "{}")
	now := time.Now().UTC()
	pid := id()
	spec.Name = cmp.Or(spec.Name, "Plan "+pid[len(pid)-4:])
	_, err := db.NewRaw(`INSERT INTO plans (id, slug, name, service_type, currency, monthly_price, plugin, plugin_options, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, pid, "plan-"+pid, spec.Name, spec.ServiceType, spec.Currency, spec.MonthlyPrice,
		spec.Plugin, spec.PluginOptions, now, now).Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("catalogtest: inserting plan: %w", err)
	}
	return pid, nil
}

// Addon inserts an active add-on offered with every plan.
func Addon(ctx context.Context, db *database.DB) (string, error) {
	now := time.Now().UTC()
	aid := id()
	_, err := db.NewRaw(`INSERT INTO addons (id, slug, name, currency, monthly_price, max_quantity, created_at, updated_at)
		VALUES (?, ?, 'Extra IP', 'USD', 300, 4, ?, ?)`, aid, "addon-"+aid, now, now).Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("catalogtest: inserting add-on: %w", err)
	}
	return aid, nil
}

// SetPlanOptions replaces the plan's plugin options and the options it
// offers customers at order (both JSON), as editing the plan would.
func SetPlanOptions(ctx context.Context, db *database.DB, planID, pluginOptions, orderOptions string) error {
	return update(ctx, db, "UPDATE plans SET plugin_options = ?, order_options = ? WHERE id = ?", pluginOptions, orderOptions, planID)
}

// SetAddonOptions replaces the add-on's plugin options (JSON).
func SetAddonOptions(ctx context.Context, db *database.DB, addonID, pluginOptions string) error {
	return update(ctx, db, "UPDATE addons SET plugin_options = ? WHERE id = ?", pluginOptions, addonID)
}

// update runs a change of the catalog's rows in ctx's ambient transaction
// if there is one.
func update(ctx context.Context, db *database.DB, query string, args ...any) error {
	if _, err := db.Conn(ctx).NewRaw(query, args...).Exec(ctx); err != nil {
		return fmt.Errorf("catalogtest: %w", err)
	}
	return nil
}
