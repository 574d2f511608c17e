package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// BenchmarkStaffActionGate measures a gated staff action (PUT
// /api/v1/admin/tax-rates/{country}, which the high-risk gate evaluates)
// that no policy matches, over real loopback HTTP:
//
//	<db>/no-policies  every policy disabled: the gate's one version read
//	<db>/20-policies  20 enabled policies on the action, none matching:
//	                  the same read (compiled policies are cached) and 20
//	                  rule evaluations
//
// benchreport prints the ratio of the two from the same run.
func BenchmarkStaffActionGate(b *testing.B) {
	eachDialect(b, func(b *testing.B, d database.Dialect) {
		for _, n := range []int{0, 20} {
			name := "no-policies"
			if n > 0 {
				name = fmt.Sprintf("%d-policies", n)
			}
			b.Run(name, func(b *testing.B) {
				tb := startApp(b, d, databasetest.URL(b, d))
				owner := tb.newStaff(b, accounts.StaffOwner)
				ctx := audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorStaff, ActorID: owner.ID})
				ps, err := tb.app.Approvals.Policies(ctx)
				if err != nil {
					b.Fatal(err)
				}
				off := false
				for _, p := range ps {
					if _, err := tb.app.Approvals.UpdatePolicy(ctx, p.ID, approval.PolicyInput{Enabled: &off}); err != nil {
						b.Fatal(err)
					}
				}
				for i := range n {
					name, rule, outcome := fmt.Sprintf("bench %02d", i), fmt.Sprintf(`changes["name"] == "never %d" || amount > %d`, i, 1_000_000+i), approval.OutcomeRequireApproval
					if _, err := tb.app.Approvals.CreatePolicy(ctx, approval.PolicyInput{Name: &name, Rule: &rule, Outcome: &outcome,
						Actions: &[]string{"tax_rates.set"}}); err != nil {
						b.Fatal(err)
					}
				}
				client := &http.Client{}
				body := []byte(`{"name":"VAT","rate_ppm":190000}`)
				put := func() {
					req, _ := http.NewRequest("PUT", tb.srv.URL+"/api/v1/admin/tax-rates/DE", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+owner.Token)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
				put()
				b.ResetTimer()
				for b.Loop() {
					put()
				}
			})
		}
	})
}
