package scheduler_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/scheduler"
)

// delivered is one notification as the owner gets it: the in-app row's
// event and the email's outbox message.
type delivered struct {
	Type, Title, Message string
}

// inbox returns what the account owner got in-app and by email, oldest
// first.
func (b *testBundle) inbox(t *testing.T) (inApp []delivered, email []delivered) {
	t.Helper()
	ctx := context.Background()
	ns, err := b.center.List(ctx, b.owner, notify.ListFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range slices.Backward(ns) {
		inApp = append(inApp, delivered{Type: string(n.Type), Title: n.Title, Message: n.Message})
	}
	ms, err := b.outbox.ListForRecipient(ctx, b.email)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range slices.Backward(ms) {
		if m.Channel == "email" {
			email = append(email, delivered{Type: m.Template, Title: m.Subject})
		}
	}
	return inApp, email
}

// TestNoticesGoThroughTheNotificationCenter: with the wiring app uses, a
// failed run and a plan change reminder reach the owner in-app and by
// email, as core/notify's types rendered from their data.
func TestNoticesGoThroughTheNotificationCenter(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{center: true, changer: &fakeChanger{db: db}})
		ctx := context.Background()
		task := mustTask(t, b, scheduler.TaskInput{Name: "nightly", Type: "custom_script", Script: "fail", Cron: "0 * * * *", MaxRetries: ptr(0)})
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.s.ExecuteRunForTest(ctx, b.runs(t, task.ID)[0].ID, false); err != nil {
			t.Fatal(err)
		}

		bigger, err := catalogtest.Plan(ctx, db, "full", 2000)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := b.cat.Plan(ctx, bigger)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := b.billing.Service(ctx, "", b.full)
		if err != nil {
			t.Fatal(err)
		}
		planName, label := plan.Name, svc.Label
		c, err := b.s.SchedulePlanChange(ctx, b.account, scheduler.PlanChangeInput{ServiceID: b.full, Kind: scheduler.ChangeUpgrade,
			ToPlanID: bigger, RunAt: b.clock.Now().Add(72 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.s.RemindForTest(ctx, c.ID); err != nil {
			t.Fatal(err)
		}

		inApp, email := b.inbox(t)
		want := []delivered{
			{"task.failed", `Task "nightly" failed`, `The task "nightly" on ` + label + ` failed: the script exited with status 2.`},
			{"plan_change.reminder", "Your scheduled plan change happens in 24 hours",
				"The upgrade to plan " + planName + " you scheduled for " + label + " takes effect at " + c.RunAt.UTC().Format(time.RFC3339) + "."},
		}
		if diff := cmp.Diff(want, inApp); diff != "" {
			t.Errorf("in-app (-want +got):\n%s", diff)
		}
		for i := range want {
			want[i].Message = ""
		}
		if diff := cmp.Diff(want, email); diff != "" {
			t.Errorf("email (-want +got):\n%s", diff)
		}
	})
}

// TestNoticesNameServicesWithoutALabel: a service without a label is
// named in the scheduler's notices (a failed task run, a plan change
// reminder) by its plan's name and hostname, never by its id.
func TestNoticesNameServicesWithoutALabel(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{center: true, changer: &fakeChanger{db: db}})
		ctx := context.Background()
		if err := billingtest.SetServiceName(ctx, db, b.full, "", `{"hostname": "web1.example.com"}`); err != nil {
			t.Fatal(err)
		}
		svc, err := b.billing.Service(ctx, "", b.full)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := b.cat.Plan(ctx, svc.PlanID)
		if err != nil {
			t.Fatal(err)
		}
		name := plan.Name + " (web1.example.com)"
		task := mustTask(t, b, scheduler.TaskInput{Name: "nightly", Type: "custom_script", Script: "fail", Cron: "0 * * * *", MaxRetries: ptr(0)})
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.s.ExecuteRunForTest(ctx, b.runs(t, task.ID)[0].ID, false); err != nil {
			t.Fatal(err)
		}
		bigger, err := catalogtest.Plan(ctx, db, "full", 2000)
		if err != nil {
			t.Fatal(err)
		}
		c, err := b.s.SchedulePlanChange(ctx, b.account, scheduler.PlanChangeInput{ServiceID: b.full, Kind: scheduler.ChangeUpgrade,
			ToPlanID: bigger, RunAt: b.clock.Now().Add(72 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.s.RemindForTest(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		inApp, _ := b.inbox(t)
		if len(inApp) != 2 {
			t.Fatalf("notices %+v", inApp)
		}
		for _, n := range inApp {
			if !strings.Contains(n.Message, " "+name+" ") || strings.Contains(n.Message, b.full) {
				t.Errorf("%s: %q, want the service named %q", n.Type, n.Message, name)
			}
		}
	})
}
