package billing_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/services"
)

// TestNoticesNameServicesNotTheirIDs: a service without a label is named
// in its notices (provisioned, suspended, unsuspended, failed) by its
// plan's name and, once its provisioner reported one, its hostname; never
// by its id.
func TestNoticesNameServicesNotTheirIDs(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		acc := tb.account(t)
		plan := tb.plan(t, "vps", 0, nil)
		refused := tb.plan(t, "refused", 0, map[string]string{"fail_create": "always", "fail_kind": "invalid"})
		ok, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		failed, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: refused.ID})
		if err != nil {
			t.Fatal(err)
		}
		tb.waitService(t, ok.Service.ID, services.StatusActive)
		tb.waitService(t, failed.Service.ID, services.StatusFailed)
		// The hostname the provisioner reported.
		if _, err := db.NewUpdate().Table("services").Set("attributes = ?", `{"hostname": "web1.example.com"}`).
			Where("id = ?", ok.Service.ID).Exec(tb.ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.svcs.Suspend(tb.ctx, ok.Service.ID, services.SuspendAdmin, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.svcs.Unsuspend(tb.ctx, ok.Service.ID, services.SuspendAdmin); err != nil {
			t.Fatal(err)
		}
		var titles []string
		if err := db.NewSelect().Table("notification_events").Column("title").Where("account_id = ?", acc).
			Where("type LIKE 'service.%'").Order("created_at", "id").Scan(tb.ctx, &titles); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"Plan vps is ready",
			"A problem with Plan refused",
			"Plan vps (web1.example.com) was suspended",
			"Plan vps (web1.example.com) is active again",
		}
		if diff := cmp.Diff(want, titles, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("titles (-want +got):\n%s", diff)
		}
		for _, title := range titles {
			for _, id := range []string{ok.Service.ID, failed.Service.ID} {
				if strings.Contains(title, id) {
					t.Errorf("title %q names the service by its id", title)
				}
			}
		}
	})
}
