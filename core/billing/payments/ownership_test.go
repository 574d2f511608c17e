package payments_test

import (
	"go/ast"
	"regexp"
	"strings"
	"testing"

	"github.com/ezscale/platform/core/testkit"
)

// paymentTables are the tables payments owns: saved methods, payments,
// refunds, top-ups, auto top-up settings and gateway webhook events.
const paymentTables = `payment_methods|payments|refunds|topups|auto_topups|webhook_events`

// paymentSQL matches SQL naming a payment table, or a string that is only a
// payment table's name (a bun Table("auto_topups")); a bare "payments" is
// also the package's logger name, so only "payments AS p" counts.
var paymentSQL = regexp.MustCompile(`(?i)\b(from|join|into|update|table|exists)\s*\(?\s*(` + paymentTables + `)\b` +
	`|^\s*(` + paymentTables + `)\s+as\b|^\s*(payment_methods|refunds|topups|auto_topups|webhook_events)\s*$`)

// paymentModels are payments' bun models.
var paymentModels = map[string]bool{"PaymentMethod": true, "Payment": true, "Refund": true, "TopUp": true, "AutoTopUp": true}

// TestNoOtherPackageQueriesThePaymentTables reads every non-test Go file
// under core/ outside payments and fails on a string literal that names a
// payment table in SQL, or a bun query (Model) of a payments model: a
// count of saved cards or a join onto auto top-ups elsewhere would read
// the payment tables behind the code that owns them (billing asks through
// billing.Payer, budget caps through budget.TopUps).
func TestNoOtherPackageQueriesThePaymentTables(t *testing.T) {
	t.Parallel()
	const own = "../../billing/payments"
	skip := func(path string) bool { return path == own || strings.HasPrefix(path, own+"/") }
	testkit.Sources(t, "../..", 100, skip, func(src testkit.Source) {
		src.StringLiterals(func(lit *ast.BasicLit, text string) {
			if paymentSQL.MatchString(text) {
				t.Errorf("%s: %s names a payment table; ask core/billing/payments", src.Pos(lit), lit.Value)
			}
		})
		src.ModelArgs(func(id *ast.Ident, qualifier string) {
			if qualifier == "payments" && paymentModels[id.Name] {
				t.Errorf("%s: a query of payments.%s; ask core/billing/payments", src.Pos(id), id.Name)
			}
		})
	})
}
