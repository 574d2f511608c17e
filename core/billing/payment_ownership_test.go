package billing_test

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

// paymentFiles are the files that own the payment gateway's tables: saved
// methods, payments, refunds, top-ups, auto top-up and gateway webhooks.
// billingtest seeds rows of them for other packages' tests.
var paymentFiles = map[string]bool{
	"../billing/methods.go":                 true,
	"../billing/payments.go":                true,
	"../billing/refunds.go":                 true,
	"../billing/topups.go":                  true,
	"../billing/autotopup.go":               true,
	"../billing/webhooks.go":                true,
	"../billing/billingtest/billingtest.go": true,
}

// paymentTables are the tables paymentFiles own.
const paymentTables = `payment_methods|payments|refunds|topups|auto_topups|webhook_events`

// paymentSQL matches SQL naming a payment table, or a string that is only a
// payment table's name (a bun Table("auto_topups")).
var paymentSQL = regexp.MustCompile(`(?i)\b(from|join|into|update|table|exists)\s*\(?\s*(` + paymentTables + `)\b|^\s*(` + paymentTables + `)\s*(\s+as\b.*)?$`)

// paymentModels are billing's bun models of those tables.
var paymentModels = map[string]bool{"PaymentMethod": true, "Payment": true, "Refund": true, "TopUp": true, "AutoTopUp": true, "webhookEvent": true}

// TestOnlyThePaymentFilesQueryThePaymentTables reads every non-test Go file
// under core/ and fails on one outside paymentFiles that names a payment
// table in a SQL string, or (in billing) queries a payment model with bun's
// Model: a count of saved methods or a scan of auto top-ups elsewhere would
// read the payment tables behind the code that owns them.
func TestOnlyThePaymentFilesQueryThePaymentTables(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		path = filepath.ToSlash(path)
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || paymentFiles[path] {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		inBilling := f.Name.Name == "billing"
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind == token.STRING && paymentSQL.MatchString(strings.Trim(n.Value, "`\"")) {
					t.Errorf("%s: %s names a payment table; query it in the payment files", fset.Position(n.Pos()), n.Value)
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !inBilling || !ok || sel.Sel.Name != "Model" {
					return true
				}
				for _, arg := range n.Args {
					ast.Inspect(arg, func(m ast.Node) bool {
						if id, ok := m.(*ast.Ident); ok && paymentModels[id.Name] {
							t.Errorf("%s: a query of the %s model; query it in the payment files", fset.Position(id.Pos()), id.Name)
						}
						return true
					})
				}
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
