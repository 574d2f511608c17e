package catalog_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/sdk"
)

// declarations is a plugin host as the catalog sees it: the option
// declaration each running provisioner gave in Describe.
type declarations map[string]sdk.Options

func (d declarations) Get(name string) (pluginhost.Info, error) {
	opts, ok := d[name]
	if !ok {
		return pluginhost.Info{}, fmt.Errorf("plugin %q is not running", name)
	}
	return pluginhost.Info{Name: name, Version: "1.0.0", Options: opts}, nil
}

// stubOptions is what the tests' provisioner declares: the plans' package.
var stubOptions = sdk.Options{sdk.IntOption("package_id", "package").OnPlan().AtLeast(1)}

type testBed struct {
	ctx     context.Context
	cat     *catalog.Catalog
	plugins declarations
}

func setup(t testing.TB, db *database.DB) *testBed {
	t.Helper()
	tb := &testBed{ctx: context.Background(), plugins: declarations{"stub": stubOptions}}
	tb.cat = catalog.New(catalog.Deps{DB: db, Plugins: tb.plugins}, catalog.Options{})
	return tb
}
