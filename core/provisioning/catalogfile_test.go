package provisioning_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/provisioning"
)

// TestImportDemoCatalog: the demo catalog imports, a second import changes
// nothing, and an edited plan is updated in place.
func TestImportDemoCatalog(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noJobs: true})
		cat, err := provisioning.LoadCatalog("../../config/examples/demo-catalog.json")
		if err != nil {
			t.Fatal(err)
		}
		actions := func(res []provisioning.ImportResult) map[string]string {
			m := map[string]string{}
			for _, r := range res {
				m[r.Slug] = r.Action
			}
			return m
		}
		first, err := provisioning.ImportCatalog(tb.ctx, tb.b, cat)
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
		second, err := provisioning.ImportCatalog(tb.ctx, tb.b, cat)
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
		third, err := provisioning.ImportCatalog(tb.ctx, tb.b, cat)
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
		p, err := tb.b.Plan(tb.ctx, cat.Plans[1].Slug)
		if err != nil || p.MonthlyPrice != cat.Plans[1].MonthlyPrice {
			t.Errorf("updated plan %+v, %v", p, err)
		}
	})
}

// TestLoadCatalogRefusesTypos: an unknown field or a repeated slug is an
// error naming it.
func TestLoadCatalogRefusesTypos(t *testing.T) {
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
		if _, err := provisioning.LoadCatalog(path); err == nil {
			t.Errorf("%s loaded", name)
		}
	}
}
