package provisioning_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// TestCollectUsage: one collection samples exactly the active services of
// plugins that describe usage, in batches, with at most UsageConcurrency
// calls in flight; a failing call leaves no sample and stops nothing; a
// repeated collection of the same second stores nothing twice; values are
// integers in the documented units.
func TestCollectUsage(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{tune: func(o *provisioning.Options) { o.UsageBatch, o.UsageConcurrency = 3, 2 }})
		tb.prov.delay = 5 * time.Millisecond
		c := tb.customer(t, false, false)
		vps := tb.plan(t, "vps", 0, false, "")
		kasm := tb.plan(t, "kasm", 0, false, "nousage")
		tb.host.setCaps("nousage", sdk.CapPower)
		var active []*billing.Service
		for range 7 {
			active = append(active, tb.order(t, c, vps))
		}
		tb.order(t, c, kasm)
		suspended := tb.order(t, c, vps)
		if _, err := tb.svcs.Suspend(tb.ctx, suspended.ID, services.SuspendAdmin, ""); err != nil {
			t.Fatal(err)
		}
		broken := active[3]
		tb.prov.SetFail(func(c call) error {
			if c.Op == "usage" && c.ServiceID == broken.ID {
				return sdk.UnavailableError(0, "backend down")
			}
			return nil
		})
		tb.prov.mu.Lock()
		tb.prov.usage[active[0].ID] = &pb.UsageResponse{CpuPercent: 150.006, RamUsedBytes: -1, RamTotalBytes: 2 << 30, BandwidthInBytes: 7}
		tb.prov.mu.Unlock()

		st, err := tb.p.CollectUsage(tb.ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := provisioning.CollectStats{Services: 7, Samples: 6, Failed: 1, Skipped: []string{"nousage"}}
		if diff := cmp.Diff(want, st); diff != "" {
			t.Errorf("stats (-want +got):\n%s", diff)
		}
		sampled := map[string]bool{}
		for _, c := range tb.prov.Calls("usage") {
			sampled[c.ServiceID] = true
			if c.Key != "ext-"+c.ServiceID {
				t.Errorf("usage of %s asked with external id %q", c.ServiceID, c.Key)
			}
		}
		for _, s := range active {
			if !sampled[s.ID] {
				t.Errorf("active service %s not sampled", s.ID)
			}
		}
		if sampled[suspended.ID] || len(sampled) != 7 {
			t.Errorf("sampled %d services (suspended one: %v)", len(sampled), sampled[suspended.ID])
		}
		if tb.prov.maxIn > 2 {
			t.Errorf("%d usage calls in flight, want at most 2", tb.prov.maxIn)
		}

		again, err := tb.p.CollectUsage(tb.ctx)
		if err != nil || again.Samples != 0 {
			t.Errorf("a second collection in the same second stored %d samples (%v)", again.Samples, err)
		}

		got, err := tb.p.Usage(tb.ctx, c.AccountID, active[0].ID, provisioning.UsageQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		wantSample := []provisioning.UsageSample{{ServiceID: active[0].ID, SampledAt: tb.clock.Now().Truncate(time.Second),
			CPUCentipercent: 15001, RAMUsedBytes: 0, RAMTotalBytes: 2 << 30, BandwidthInBytes: 7}}
		if diff := cmp.Diff(wantSample, got, cmpTime); diff != "" {
			t.Errorf("samples (-want +got):\n%s", diff)
		}
		if got, _ := tb.p.Usage(tb.ctx, c.AccountID, broken.ID, provisioning.UsageQuery{Limit: 10}); len(got) != 0 {
			t.Errorf("the failed service has %d samples", len(got))
		}
		other := tb.customer(t, false, false)
		if _, err := tb.p.Usage(tb.ctx, other.AccountID, active[0].ID, provisioning.UsageQuery{Limit: 10}); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("another account's usage: %v", err)
		}
	})
}

var cmpTime = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

// TestUsageTellsThePluginWhatCreateDid: a usage call (a page of services
// described at once, ProvisionerViews) describes the service exactly as
// Create did (one service, the backend job's description): the one
// description of views.go, with the plan's options over its add-ons' (two
// add-ons set the same key), and the customer with their email.
func TestUsageTellsThePluginWhatCreateDid(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		c := tb.customer(t, false, false)
		plan := tb.plan(t, "vps", 0, false, "")
		var addons []billing.AddonChoice
		for i, disk := range []string{"20", "40"} {
			a, err := tb.cat.CreateAddon(tb.ctx, catalog.AddonInput{Slug: fmt.Sprintf("disk-%d", i), Name: "Disk " + disk, Currency: "USD",
				MaxQuantity: 1, PlanIDs: []string{plan.ID}, PluginOptions: map[string]string{"disk_gb": disk}})
			if err != nil {
				t.Fatal(err)
			}
			addons = append(addons, billing.AddonChoice{AddonID: a.ID, Quantity: 1})
		}
		res, err := tb.b.Order(c.as(tb.ctx), c.AccountID, billing.OrderInput{PlanID: plan.ID, Addons: addons})
		if err != nil {
			t.Fatal(err)
		}
		svc := tb.waitService(t, res.Service.ID, services.StatusActive)
		if _, err := tb.p.CollectUsage(tb.ctx); err != nil {
			t.Fatal(err)
		}
		created, sampled := tb.prov.toldBy("create", svc.ID), tb.prov.toldBy("usage", svc.ID)
		if created == nil || sampled == nil {
			t.Fatalf("create told %v, usage told %v", created, sampled)
		}
		if created.GetCustomer().GetEmail() == "" || created.GetPlanOptions()["disk_gb"] == "" || created.GetPlanOptions()["package_id"] != "1" {
			t.Fatalf("Create was told no customer email or not the plan's and add-ons' options: %v", created)
		}
		// The backend's id is known only after Create.
		created.ExternalId = sampled.GetExternalId()
		if diff := cmp.Diff(created, sampled, protocmp.Transform()); diff != "" {
			t.Errorf("usage described the service otherwise than Create (-create +usage):\n%s", diff)
		}
	})
}

// TestUsageWindowAndRetention: samples are listed oldest first within
// [since, until) and paged; pruning deletes exactly those older than the
// retention.
func TestUsageWindowAndRetention(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{tune: func(o *provisioning.Options) { o.UsageRetention = 48 * time.Hour }})
		c := tb.customer(t, false, false)
		svc := tb.order(t, c, tb.plan(t, "vps", 0, false, ""))
		start := tb.clock.Now().Truncate(time.Second)
		for range 6 { // one sample every 12 hours: 0h … 60h
			if _, err := tb.p.CollectUsage(tb.ctx); err != nil {
				t.Fatal(err)
			}
			tb.clock.Add(12 * time.Hour)
		}
		at := func(h int) time.Time { return start.Add(time.Duration(h) * time.Hour) }
		times := func(ss []provisioning.UsageSample) []string {
			var out []string
			for _, s := range ss {
				out = append(out, fmt.Sprint(s.SampledAt.Sub(start).Hours()))
			}
			return out
		}
		q := provisioning.UsageQuery{Since: at(12), Until: at(60), Limit: 2}
		page1, err := tb.p.Usage(tb.ctx, c.AccountID, svc.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		q.After = &page1[1].SampledAt
		page2, err := tb.p.Usage(tb.ctx, c.AccountID, svc.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		if got := append(times(page1), times(page2)...); !cmp.Equal(got, []string{"12", "24", "36", "48"}) {
			t.Errorf("pages %v", got)
		}
		// Now is 72h: retention 48h keeps 24h … 60h.
		n, err := tb.p.PruneUsage(tb.ctx)
		if err != nil || n != 2 {
			t.Errorf("pruned %d (%v), want 2", n, err)
		}
		all, _ := tb.p.Usage(tb.ctx, c.AccountID, svc.ID, provisioning.UsageQuery{Since: start, Limit: 100})
		if got := times(all); !cmp.Equal(got, []string{"24", "36", "48", "60"}) {
			t.Errorf("after pruning %v", got)
		}
	})
}

// TestCollectUsageContinues: a collection whose job budget leaves too
// little time for another page stops between pages and says where a
// follow-up job continues; the follow-up samples the rest at the same
// sample time, so each service is sampled once.
func TestCollectUsageContinues(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{tune: func(o *provisioning.Options) { o.UsageBatch, o.UsageConcurrency = 2, 2 }})
		c := tb.customer(t, false, false)
		vps := tb.plan(t, "vps", 0, false, "")
		for range 5 {
			tb.order(t, c, vps)
		}
		// Room for a page but not for a call's timeout after it.
		budget, cancel := context.WithTimeout(tb.ctx, tb.p.Options().CallTimeout+5*time.Second)
		defer cancel()
		st, at, after, err := tb.p.CollectFromForTest(budget, time.Time{}, "")
		if err != nil || st.Services != 2 || after == "" || at.IsZero() {
			t.Fatalf("first job: %+v, continue at %v after %q, %v; want 2 services and a cursor", st, at, after, err)
		}
		tb.clock.Add(time.Minute)
		rest, _, next, err := tb.p.CollectFromForTest(tb.ctx, at, after)
		if err != nil || rest.Services != 3 || next != "" {
			t.Fatalf("follow-up: %+v, next %q, %v; want the other 3 and done", rest, next, err)
		}
		var times []time.Time
		if err := db.NewSelect().Table("usage_samples").Column("sampled_at").Scan(tb.ctx, &times); err != nil {
			t.Fatal(err)
		}
		if len(times) != 5 {
			t.Fatalf("%d samples, want 5", len(times))
		}
		for _, s := range times {
			if !s.Equal(at) {
				t.Errorf("sample at %v, want the collection's time %v", s, at)
			}
		}
	})
}
