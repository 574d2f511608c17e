package billing_test

import (
	"go/ast"
	"regexp"
	"testing"

	"github.com/ezscale/platform/core/testkit"
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
	testkit.Sources(t, "..", 100, func(path string) bool { return paymentFiles[path] }, func(src testkit.Source) {
		src.StringLiterals(func(lit *ast.BasicLit, text string) {
			if paymentSQL.MatchString(text) {
				t.Errorf("%s: %s names a payment table; query it in the payment files", src.Pos(lit), lit.Value)
			}
		})
		if src.File.Name.Name != "billing" {
			return
		}
		src.ModelArgs(func(id *ast.Ident, qualifier string) {
			if qualifier == "" && paymentModels[id.Name] {
				t.Errorf("%s: a query of the %s model; query it in the payment files", src.Pos(id), id.Name)
			}
		})
	})
}
