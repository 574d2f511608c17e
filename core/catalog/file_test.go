package catalog_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/sdk"
)

// TestImportDemoCatalog: the demo catalog imports, a second import changes
// nothing, and an edited plan is updated in place.
func TestImportDemoCatalog(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		cat, err := catalog.LoadFile("../../config/examples/demo-catalog.json")
		if err != nil {
			t.Fatal(err)
		}
		// The stub declares what the catalog uses, so this test is about
		// importing; tests/ imports it against the real plugins' declarations.
		for plugin, opts := range optionsUsedBy(cat) {
			tb.plugins[plugin] = opts
		}
		actions := func(res []catalog.ImportResult) map[string]string {
			m := map[string]string{}
			for _, r := range res {
				m[r.Slug] = r.Action
			}
			return m
		}
		first, err := tb.cat.Import(tb.ctx, cat)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, p := range cat.Plans {
			want[p.Slug] = "created"
		}
		if diff := cmp.Diff(want, actions(first)); diff != "" {
			t.Errorf("first import (-want +got):\n%s", diff)
		}
		second, err := tb.cat.Import(tb.ctx, cat)
		if err != nil {
			t.Fatal(err)
		}
		for k := range want {
			want[k] = "unchanged"
		}
		if diff := cmp.Diff(want, actions(second)); diff != "" {
			t.Errorf("second import (-want +got):\n%s", diff)
		}
		cat.Plans[1].MonthlyPrice += 100
		third, err := tb.cat.Import(tb.ctx, cat)
		if err != nil {
			t.Fatal(err)
		}
		want[cat.Plans[1].Slug] = "updated"
		if diff := cmp.Diff(want, actions(third)); diff != "" {
			t.Errorf("third import (-want +got):\n%s", diff)
		}
		if third[1].ID != first[1].ID {
			t.Errorf("the updated plan changed id")
		}
		p, err := tb.cat.Plan(tb.ctx, cat.Plans[1].Slug)
		if err != nil || p.MonthlyPrice != cat.Plans[1].MonthlyPrice {
			t.Errorf("updated plan %+v, %v", p, err)
		}
	})
}

// TestImportChecksOptions: a catalog plan whose options the
// plugin's declaration refuses is not imported; the error names the plan
// and each refused option.
func TestImportChecksOptions(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		cat := &catalog.File{Plans: []catalog.PlanInput{{
			Slug: "game", Name: "Game", ServiceType: "game", Currency: "USD", MonthlyPrice: 500, Plugin: "stub",
			PluginOptions: map[string]string{"package_id": "0", "docker_image": "attacker/miner"},
		}}}
		_, err := tb.cat.Import(tb.ctx, cat)
		want := "plans[0] (game): options the provisioner does not accept from you; " +
			"plugin_options.docker_image: is not an option of the stub plugin (accepted: package_id); plugin_options.package_id: must be at least 1"
		if err == nil || err.Error() != want {
			t.Errorf("import: %v\nwant: %s", err, want)
		}
		if plans, err := tb.cat.Plans(tb.ctx, false); err != nil || len(plans) != 0 {
			t.Errorf("plans after a refused import: %d, %v", len(plans), err)
		}
	})
}

// TestLoadFileRefusesTypos: an unknown field or a repeated slug is an
// error naming it.
func TestLoadFileRefusesTypos(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"typo.json": `{"plans": [{"slug": "a", "monthly_prize": 5}]}`,
		"dup.json":  `{"plans": [{"slug": "a"}, {"slug": "a"}]}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := catalog.LoadFile(path); err == nil {
			t.Errorf("%s loaded", name)
		}
	}
}

// optionsUsedBy declares, per plugin, every option the catalog's plans set
// (staff) or offer (customers), as strings.
func optionsUsedBy(cat *catalog.File) map[string]sdk.Options {
	type use struct{ plan, order bool }
	uses := map[string]map[string]*use{}
	for _, p := range cat.Plans {
		if uses[p.Plugin] == nil {
			uses[p.Plugin] = map[string]*use{}
		}
		for k := range p.PluginOptions {
			if uses[p.Plugin][k] == nil {
				uses[p.Plugin][k] = &use{}
			}
			uses[p.Plugin][k].plan = true
		}
		for k := range p.OrderOptions {
			if uses[p.Plugin][k] == nil {
				uses[p.Plugin][k] = &use{}
			}
			uses[p.Plugin][k].order = true
		}
	}
	out := map[string]sdk.Options{}
	for plugin, keys := range uses {
		opts := sdk.Options{}
		for k, u := range keys {
			opts = append(opts, sdk.Option{Key: k, Type: sdk.OptionString, Plan: u.plan, Order: u.order})
		}
		out[plugin] = opts
	}
	return out
}
