package catalog_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// catalogSQL matches SQL that names one of the catalog's tables.
var catalogSQL = regexp.MustCompile(`(?i)\b(from|join|into|update|table)\s+(plans|addons|coupons|coupon_account_uses|tax_rates)\b|^\s*(plans|addons|coupons|coupon_account_uses|tax_rates)\s+as\b`)

// TestNoOtherPackageQueriesTheCatalogsTables reads every non-test Go file
// under core/ outside the catalog (and its test kit) and fails on a string
// literal that names one of the catalog's tables in SQL: a join onto plans
// or a count of coupons elsewhere would read the catalog behind its back
// (other packages read it through its lookups, in their transaction).
func TestNoOtherPackageQueriesTheCatalogsTables(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == "../catalog" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if catalogSQL.MatchString(strings.Trim(lit.Value, "`\"")) {
				t.Errorf("%s: %s names a catalog table; read the catalog through core/catalog", fset.Position(lit.Pos()), lit.Value)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d files checked: the walk did not find core/", checked)
	}
}
