package billing_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/intent"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/testkit"
)

// createIntent reads the intent record of a service's create.
func (tb *testBundle) createIntent(t testing.TB, serviceID string) *intent.Intent {
	t.Helper()
	got, err := intent.New(tb.db, intent.Options{}).Load(tb.ctx, []string{serviceID})
	if err != nil {
		t.Fatal(err)
	}
	return got[serviceID]
}

// TestCreateIsRecorded: provisioning records its Create as started before
// calling the plugin and its outcome after; a Create found started without
// an outcome (the replica that made it died) is repeated with the same key,
// as Create's policy allows, and the backend has one server.
func TestCreateIsRecorded(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noJobs: true})
		acc := tb.account(t)
		plan := tb.plan(t, "vps-intent", 0, nil)
		res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		id := res.Service.ID
		// A replica started the create and died before its outcome.
		store := intent.New(db, intent.Options{})
		if err := db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
			_, err := store.Begin(ctx, tx, []intent.Start{{Key: id, Action: intent.Create, Plugin: "testprov", ServiceID: id}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := tb.engine.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tb.engine.Stop(context.Background()) })
		svc := tb.waitService(t, id, services.StatusActive)
		in := tb.createIntent(t, id)
		if in == nil || in.State != intent.Succeeded || in.Starts != 2 || in.Detail != "created "+svc.ExternalID || in.FinishedAt == nil {
			t.Errorf("create intent %+v, want succeeded after a second start", in)
		}
		if got := tb.backend(t, id).ExternalID; got != svc.ExternalID {
			t.Errorf("backend server %q, service %q", got, svc.ExternalID)
		}

		// A fresh order: one start, one outcome.
		res, err = tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		tb.waitService(t, res.Service.ID, services.StatusActive)
		if in := tb.createIntent(t, res.Service.ID); in == nil || in.State != intent.Succeeded || in.Starts != 1 {
			t.Errorf("create intent %+v, want succeeded at the first start", in)
		}
	})
}

// downHost is the plugin host of a replica where every plugin's breaker
// is open while down is set.
type downHost struct {
	*pluginhost.Host
	down *atomic.Bool
}

func (h downHost) Down(string) bool { return h.down.Load() }

// snoozes counts the snoozes of the jobs of kind.
func (tb *testBundle) snoozes(t testing.TB, kind string) int {
	t.Helper()
	var meta []string
	col := "metadata::text"
	if tb.db.Dialect == database.SQLite {
		col = "json(metadata)"
	}
	if err := tb.db.NewSelect().Table("river_job").ColumnExpr(col).Where("kind = ?", kind).Scan(tb.ctx, &meta); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range meta {
		var md struct {
			Snoozes int `json:"snoozes"`
		}
		_ = json.Unmarshal([]byte(m), &md)
		n += md.Snoozes
	}
	return n
}

// TestProvisioningSnoozesWhilePluginDown: a replica whose provisioner's
// breaker is open does not work the service's provisioning or backend
// sync jobs: they snooze, spend no attempt, record no failure; once the
// plugin runs, the service is provisioned and then suspended at the
// backend.
func TestProvisioningSnoozesWhilePluginDown(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		down := &atomic.Bool{}
		down.Store(true)
		tb := setup(t, db, setupOpts{services: services.Options{ProvisionMaxAttempts: 1}, pluginDown: down})
		acc := tb.account(t)
		plan := tb.plan(t, "vps-down", 0, nil)
		res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		testkit.WaitFor(t, "the provisioning job to snooze twice", func() bool { return tb.snoozes(t, "billing_provision") >= 2 })
		svc, err := tb.b.Service(tb.ctx, "", res.Service.ID)
		if err != nil {
			t.Fatal(err)
		}
		if svc.Status != services.StatusProvisioning || svc.ProvisionAttempts != 0 || svc.LastError != "" {
			t.Errorf("while the plugin is down: %s, %d attempts, %q; want provisioning, untouched", svc.Status, svc.ProvisionAttempts, svc.LastError)
		}
		if acts := tb.auditActions(t, svc.ID); strings.Contains(strings.Join(acts, ","), "provision_") {
			t.Errorf("audit %v records provisioning attempts while the plugin was down", acts)
		}
		down.Store(false)
		tb.waitService(t, svc.ID, services.StatusActive)

		down.Store(true)
		if _, err := tb.svcs.Suspend(tb.ctx, svc.ID, services.SuspendAdmin, ""); err != nil {
			t.Fatal(err)
		}
		testkit.WaitFor(t, "the sync job to snooze twice", func() bool { return tb.snoozes(t, "billing_service_sync") >= 2 })
		if got := tb.backend(t, svc.ID).State; got != "active" {
			t.Errorf("backend %s while the plugin is down, want still active", got)
		}
		if acts := tb.auditActions(t, svc.ID); strings.Contains(strings.Join(acts, ","), "backend_") {
			t.Errorf("audit %v records sync failures while the plugin was down", acts)
		}
		down.Store(false)
		testkit.WaitFor(t, "the backend to suspend", func() bool { return tb.backend(t, svc.ID).State == "suspended" })
	})
}
