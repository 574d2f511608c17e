package catalog_test

import (
	"go/ast"
	"regexp"
	"strings"
	"testing"

	"github.com/ezscale/platform/core/testkit"
)

// catalogSQL matches SQL that names one of the catalog's tables.
var catalogSQL = regexp.MustCompile(`(?i)\b(from|join|into|update|table)\s+(plans|addons|coupons|coupon_account_uses|tax_rates)\b|^\s*(plans|addons|coupons|coupon_account_uses|tax_rates)\s+as\b`)

// catalogModels are the catalog's bun models.
var catalogModels = map[string]bool{"Plan": true, "Addon": true, "Coupon": true, "TaxRate": true}

// TestNoOtherPackageQueriesTheCatalogsTables reads every non-test Go file
// under core/ outside the catalog and fails on a string literal that names
// one of the catalog's tables in SQL, or a bun query (Model) of a catalog
// model: a join onto plans or a count of coupons elsewhere would read the
// catalog behind its back (other packages read it through its lookups, in
// their transaction).
func TestNoOtherPackageQueriesTheCatalogsTables(t *testing.T) {
	t.Parallel()
	skip := func(path string) bool { return path == "../catalog" || strings.HasPrefix(path, "../catalog/") }
	testkit.Sources(t, "..", 100, skip, func(src testkit.Source) {
		src.StringLiterals(func(lit *ast.BasicLit, text string) {
			if catalogSQL.MatchString(text) {
				t.Errorf("%s: %s names a catalog table; read the catalog through core/catalog", src.Pos(lit), lit.Value)
			}
		})
		src.ModelArgs(func(id *ast.Ident, qualifier string) {
			if qualifier == "catalog" && catalogModels[id.Name] {
				t.Errorf("%s: a query of catalog.%s; read the catalog through core/catalog", src.Pos(id), id.Name)
			}
		})
	})
}
