package projects_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/ezscale/platform/core/testkit"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/projects"
)

// TestCyclesOfEveryLengthAreRefused: for every length from 1 (a service
// depending on itself) to 10, the edge that would close a cycle is refused
// and the refusal names the cycle by the services' labels, from the new
// edge's service round to it again; the edges before it are kept.
func TestCyclesOfEveryLengthAreRefused(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		self := tb.services(t, tb.a, 1)[0]
		_, err := tb.p.AddDependency(tb.ctx, tb.a, projects.DependencyInput{ServiceID: self, DependsOnID: self})
		if diff := cmp.Diff([]string{"depends_on_id"}, fieldNames(testkit.AppErr(t, err, apperr.Invalid, ""))); diff != "" {
			t.Errorf("self-edge refusal names (-want +got):\n%s", diff)
		}
		for n := 2; n <= 10; n++ {
			// vps-0 → vps-1 → … → vps-(n-1), then vps-(n-1) → vps-0.
			svc := tb.services(t, tb.a, n)
			for i := 0; i+1 < n; i++ {
				tb.depend(t, svc[i], svc[i+1])
			}
			_, err := tb.p.AddDependency(tb.ctx, tb.a, projects.DependencyInput{ServiceID: svc[n-1], DependsOnID: svc[0]})
			e := testkit.AppErr(t, err, apperr.Conflict, "dependency_cycle")
			labels := []string{fmt.Sprintf("vps-%d", n-1)}
			for i := 0; i < n; i++ {
				labels = append(labels, fmt.Sprintf("vps-%d", i))
			}
			want := []apperr.FieldError{{Field: "depends_on_id", Message: "would form a cycle: " + strings.Join(labels, " → ")}}
			if diff := cmp.Diff(want, e.Fields); diff != "" {
				t.Errorf("length %d (-want +got):\n%s", n, diff)
			}
			deps, err := tb.p.Dependencies(tb.ctx, tb.a, projects.DependencyFilter{DependsOnID: svc[0], Limit: 10})
			if err != nil || len(deps) != 0 {
				t.Errorf("length %d: the refused edge was stored: %+v, %v", n, deps, err)
			}
		}
	})
}

// TestDependencyRefusals: duplicates, ended services and bad fields are
// refused, naming the field; a diamond (two paths to one service) is not
// a cycle; edges may cross projects.
func TestDependencyRefusals(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		svc := tb.services(t, tb.a, 5)
		p1, p2 := tb.project(t, tb.a, "One"), tb.project(t, tb.a, "Two")
		if _, err := tb.p.MoveServices(tb.ctx, tb.a, p1.ID, projects.MoveInput{ServiceIDs: svc[:1]}); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.p.MoveServices(tb.ctx, tb.a, p2.ID, projects.MoveInput{ServiceIDs: svc[1:2]}); err != nil {
			t.Fatal(err)
		}
		tb.depend(t, svc[0], svc[1]) // across projects
		tb.depend(t, svc[0], svc[2])
		tb.depend(t, svc[1], svc[3])
		tb.depend(t, svc[2], svc[3]) // a diamond, not a cycle

		_, err := tb.p.AddDependency(tb.ctx, tb.a, projects.DependencyInput{ServiceID: svc[0], DependsOnID: svc[1]})
		testkit.AppErr(t, err, apperr.Conflict, "dependency_exists")
		_, err = tb.p.AddDependency(tb.ctx, tb.a, projects.DependencyInput{ServiceID: svc[0], DependsOnID: svc[4], Type: "cache", Note: strings.Repeat("x", 501)})
		if diff := cmp.Diff([]string{"type", "note"}, fieldNames(testkit.AppErr(t, err, apperr.Invalid, ""))); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if err := billingtest.SetServiceStatus(tb.ctx, db, svc[4], services.StatusCancelled); err != nil {
			t.Fatal(err)
		}
		_, err = tb.p.AddDependency(tb.ctx, tb.a, projects.DependencyInput{ServiceID: svc[0], DependsOnID: svc[4]})
		if diff := cmp.Diff([]string{"depends_on_id"}, fieldNames(testkit.AppErr(t, err, apperr.Conflict, "service_ended"))); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		_, err = tb.p.AddDependency(tb.ctx, tb.a, projects.DependencyInput{ServiceID: "nope", DependsOnID: svc[0]})
		if diff := cmp.Diff([]string{"service_id"}, fieldNames(testkit.AppErr(t, err, apperr.NotFound, ""))); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// TestConcurrentInsertsThatCloseACycle: with a → b → c recorded, c → d and
// d → a each alone are fine but together close a → b → c → d → a. Whatever
// the interleaving, exactly one of them is stored and the other is refused
// as a cycle. "held" pins the worst interleaving: the second insert starts
// while the first one's transaction is open (it waits: on PostgreSQL for
// the graph's row lock, on SQLite for the one write connection) and then
// sees the first one's edge; "racing" runs both freely, many times.
func TestConcurrentInsertsThatCloseACycle(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		chain := func() (a, b, c, d string) {
			svc := tb.services(t, tb.a, 4)
			tb.depend(t, svc[0], svc[1])
			tb.depend(t, svc[1], svc[2])
			return svc[0], svc[1], svc[2], svc[3]
		}

		t.Run("held", func(t *testing.T) {
			a, _, c, d := chain()
			second := make(chan error, 1)
			waits := connWaits(db)
			err := db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
				if _, err := tb.p.AddDependency(ctx, tb.a, projects.DependencyInput{ServiceID: c, DependsOnID: d}); err != nil {
					return err
				}
				go func() {
					_, err := tb.p.AddDependency(tb.ctx, tb.a, projects.DependencyInput{ServiceID: d, DependsOnID: a})
					second <- err
				}()
				// Commit only once the second insert is waiting on us.
				for !waitingOnUs(t, db, tx, tb.a.AccountID, waits) {
					select {
					case err := <-second:
						t.Fatalf("the second insert finished while the first was open: %v", err)
					default:
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			testkit.AppErr(t, <-second, apperr.Conflict, "dependency_cycle")
		})

		t.Run("racing", func(t *testing.T) {
			for round := 0; round < 10; round++ {
				a, _, c, d := chain()
				var wg sync.WaitGroup
				errs := make([]error, 2)
				start := make(chan struct{})
				for i, in := range []projects.DependencyInput{{ServiceID: c, DependsOnID: d}, {ServiceID: d, DependsOnID: a}} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						_, errs[i] = tb.p.AddDependency(tb.ctx, tb.a, in)
					}()
				}
				close(start)
				wg.Wait()
				failed := 0
				for _, err := range errs {
					if err != nil {
						testkit.AppErr(t, err, apperr.Conflict, "dependency_cycle")
						failed++
					}
				}
				if failed != 1 {
					t.Fatalf("round %d: %d of the two inserts failed (%v), want exactly one", round, failed, errs)
				}
			}
		})
	})
}

// connWaits is how often the pool has made a caller wait for a connection
// (SQLite: the one write connection).
func connWaits(db *database.DB) int64 { return db.DB.DB.Stats().WaitCount }

// waitingOnUs reports whether another caller waits on the open
// transaction: on PostgreSQL a backend waiting for a lock in a statement
// naming the account, on SQLite a caller waiting for the write
// connection.
func waitingOnUs(t *testing.T, db *database.DB, tx bun.Tx, accountID string, waitsBefore int64) bool {
	t.Helper()
	if db.IsSQLite() {
		return connWaits(db) > waitsBefore
	}
	// Read pg_stat_activity afresh each time: within one transaction
	// PostgreSQL answers it from a snapshot taken at its first read, so
	// polling it from tx would never see the second insert start waiting.
	if _, err := tx.ExecContext(context.Background(), `SELECT pg_stat_clear_snapshot()`); err != nil {
		t.Fatal(err)
	}
	var n int
	err := tx.NewRaw(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ?`,
		"%"+accountID+"%").Scan(context.Background(), &n)
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestTerminationGuard: cancelling (customer) or terminating (staff) a
// service that live services depend on is refused with the dependents
// named, and nothing changes; confirming goes ahead; a dependent that has
// ended does not count; the platform's own terminations are not asked.
func TestTerminationGuard(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		svc := tb.services(t, tb.a, 4) // vps-0 and vps-1 depend on vps-2; vps-3 alone
		tb.depend(t, svc[0], svc[2])
		d, err := tb.p.AddDependency(tb.ctx, tb.a, projects.DependencyInput{ServiceID: svc[1], DependsOnID: svc[2], Type: projects.TypeAPI, Critical: true})
		if err != nil {
			t.Fatal(err)
		}
		want := []apperr.FieldError{
			{Field: "confirm_dependents", Message: "must be true to end a service that other services depend on"},
			{Field: "dependents[0]", Message: fmt.Sprintf("vps-0 (%s) depends on this service (database dependency)", svc[0])},
			{Field: "dependents[1]", Message: fmt.Sprintf("vps-1 (%s) depends on this service (critical api dependency)", svc[1])},
		}
		if svc[0] > svc[1] {
			t.Fatal("services are not in id order")
		}
		_, err = tb.b.Cancel(tb.ctx, tb.a.AccountID, svc[2], billing.CancelInput{When: "now"})
		if diff := cmp.Diff(want, testkit.AppErr(t, err, apperr.Conflict, "service_has_dependents").Fields); diff != "" {
			t.Errorf("cancel refusal (-want +got):\n%s", diff)
		}
		_, err = tb.b.TerminateRequested(tb.ctx, svc[2], billing.TerminateInput{Reason: "abuse"})
		if diff := cmp.Diff(want, testkit.AppErr(t, err, apperr.Conflict, "service_has_dependents").Fields); diff != "" {
			t.Errorf("terminate refusal (-want +got):\n%s", diff)
		}
		if s, _ := tb.b.Service(tb.ctx, tb.a.AccountID, svc[2]); s.Status != services.StatusActive {
			t.Fatalf("refused service is %s", s.Status)
		}
		// A service nothing depends on is not asked.
		if _, err := tb.b.TerminateRequested(tb.ctx, svc[3], billing.TerminateInput{}); err != nil {
			t.Fatal(err)
		}
		// A dependent that has ended no longer counts.
		if _, err := tb.b.Terminate(tb.ctx, svc[0], "test"); err != nil {
			t.Fatal(err)
		}
		_, err = tb.b.Cancel(tb.ctx, tb.a.AccountID, svc[2], billing.CancelInput{When: "now"})
		if diff := cmp.Diff(want[2].Message, testkit.AppErr(t, err, apperr.Conflict, "service_has_dependents").Fields[1].Message); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		s, err := tb.b.Cancel(tb.ctx, tb.a.AccountID, svc[2], billing.CancelInput{When: "now", ConfirmDependents: true})
		if err != nil || s.Status != services.StatusCancelled {
			t.Fatalf("confirmed cancel: %+v, %v", s, err)
		}
		// The dependency stays, pointing at an ended service.
		if got, err := tb.p.Dependency(tb.ctx, tb.a, d.ID); err != nil || got.DependsOnID != svc[2] {
			t.Errorf("dependency after the cancel: %+v, %v", got, err)
		}
	})
}

// TestGraph: the account's graph has every live service (with its project
// and plan) and every edge; a project's graph has its services, the edges
// touching them and the services at their other ends; an ended service is
// a node only while an edge touches it.
func TestGraph(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		svc := tb.services(t, tb.a, 5)
		p := tb.project(t, tb.a, "P")
		if _, err := tb.p.MoveServices(tb.ctx, tb.a, p.ID, projects.MoveInput{ServiceIDs: svc[:2]}); err != nil {
			t.Fatal(err)
		}
		e1 := tb.depend(t, svc[0], svc[1])
		e2 := tb.depend(t, svc[1], svc[2])
		e3 := tb.depend(t, svc[2], svc[3])
		for _, s := range []string{svc[3], svc[4]} {
			if err := billingtest.SetServiceStatus(tb.ctx, db, s, services.StatusTerminated); err != nil {
				t.Fatal(err)
			}
		}
		plan, err := tb.cat.Plan(tb.ctx, tb.plan)
		if err != nil {
			t.Fatal(err)
		}
		planName := plan.Name
		node := func(i int, status string, project *string) projects.Node {
			health := projects.HealthUp
			if status == "terminated" {
				health = projects.HealthEnded
			}
			return projects.Node{ID: svc[i], Label: fmt.Sprintf("vps-%d", i), Status: status, ProjectID: project, PlanID: tb.plan, PlanName: planName,
				Health: health, DegradedBy: []string{}}
		}
		edge := func(d *projects.Dependency) projects.Edge {
			return projects.Edge{ID: d.ID, ServiceID: d.ServiceID, DependsOnID: d.DependsOnID, Type: d.Type}
		}
		pid := &p.ID
		for name, tc := range map[string]struct {
			project string
			want    *projects.Graph
		}{
			"account": {"", &projects.Graph{
				Nodes: []projects.Node{node(0, "active", pid), node(1, "active", pid), node(2, "active", nil), node(3, "terminated", nil)},
				Edges: []projects.Edge{edge(e1), edge(e2), edge(e3)},
			}},
			"project": {p.ID, &projects.Graph{
				Nodes: []projects.Node{node(0, "active", pid), node(1, "active", pid), node(2, "active", nil)},
				Edges: []projects.Edge{edge(e1), edge(e2)},
			}},
		} {
			got, err := tb.p.Graph(tb.ctx, tb.a, tc.project)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s graph (-want +got):\n%s", name, diff)
			}
		}
	})
}

// TestGraphHealth: a node is down while it is suspended or its health
// check fails (with the reason), degraded while a service it depends on,
// directly or through others, is down (naming those), pending before it
// runs, and up otherwise; recovering clears it.
func TestGraphHealth(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		svc := tb.services(t, tb.a, 5)
		tb.depend(t, svc[0], svc[1])
		tb.depend(t, svc[1], svc[2])
		tb.depend(t, svc[0], svc[3])
		if _, err := tb.svcs.Suspend(tb.ctx, svc[2], "staff", ""); err != nil {
			t.Fatal(err)
		}
		err := db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
			return tb.p.ServiceDown(ctx, tx, tb.a.AccountID, svc[3], projects.CauseHealthCheck, "failed its http health check (timeout)")
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := billingtest.SetServiceStatus(tb.ctx, db, svc[4], services.StatusProvisioning); err != nil {
			t.Fatal(err)
		}
		type health struct {
			Health, Reason string
			By             []string
		}
		read := func() []health {
			t.Helper()
			g, err := tb.p.Graph(tb.ctx, tb.a, "")
			if err != nil {
				t.Fatal(err)
			}
			out := make([]health, len(g.Nodes))
			for i, n := range g.Nodes {
				out[i] = health{n.Health, n.HealthReason, n.DegradedBy}
			}
			return out
		}
		want := []health{
			{projects.HealthDegraded, "depends on vps-2 and 1 more services, which are down", []string{svc[2], svc[3]}},
			{projects.HealthDegraded, "depends on vps-2, which is down", []string{svc[2]}},
			{projects.HealthDown, "suspended", []string{}},
			{projects.HealthDown, "failed its http health check (timeout)", []string{}},
			{projects.HealthPending, "", []string{}},
		}
		if diff := cmp.Diff(want, read()); diff != "" {
			t.Errorf("health while vps-2 and vps-3 are down (-want +got):\n%s", diff)
		}
		if _, err := tb.svcs.Unsuspend(tb.ctx, svc[2], "staff"); err != nil {
			t.Fatal(err)
		}
		err = db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
			return tb.p.ServiceUp(ctx, tx, tb.a.AccountID, svc[3], projects.CauseHealthCheck)
		})
		if err != nil {
			t.Fatal(err)
		}
		up := health{projects.HealthUp, "", []string{}}
		if diff := cmp.Diff([]health{up, up, up, up, {projects.HealthPending, "", []string{}}}, read()); diff != "" {
			t.Errorf("health after the recoveries (-want +got):\n%s", diff)
		}
	})
}

// TestInvoiceLinesCarryTheProject: an invoice written for a service in a
// project carries the project on the service's lines; moving the service
// later does not change the invoice.
func TestInvoiceLinesCarryTheProject(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		small, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{Slug: "small", Name: "Small", ServiceType: "vps", Currency: "USD", MonthlyPrice: 1000, Plugin: "p"})
		if err != nil {
			t.Fatal(err)
		}
		big, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{Slug: "big", Name: "Big", ServiceType: "vps", Currency: "USD", MonthlyPrice: 3000, Plugin: "p"})
		if err != nil {
			t.Fatal(err)
		}
		start := money.Date(time.Now().UTC())
		end := money.AddCycle(start, money.Monthly, start.Day())
		svc, err := billingtest.Service(tb.ctx, db, billingtest.ServiceSpec{AccountID: tb.a.AccountID, PlanID: small.ID, Price: 1000,
			PeriodStart: &start, PeriodEnd: &end, AnchorDay: start.Day()})
		if err != nil {
			t.Fatal(err)
		}
		p := tb.project(t, tb.a, "Shop")
		if _, err := tb.p.MoveServices(tb.ctx, tb.a, p.ID, projects.MoveInput{ServiceIDs: []string{svc}}); err != nil {
			t.Fatal(err)
		}
		res, err := tb.b.ChangePlan(tb.ctx, tb.a.AccountID, svc, billing.ChangeInput{PlanID: big.ID, When: "now"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Invoice == nil {
			t.Fatal("the upgrade wrote no invoice")
		}
		if _, err := tb.p.RemoveServices(tb.ctx, tb.a, p.ID, projects.MoveInput{ServiceIDs: []string{svc}}); err != nil {
			t.Fatal(err)
		}
		inv, err := tb.b.Invoice(tb.ctx, tb.a.AccountID, res.Invoice.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range inv.Lines {
			if l.ServiceID != nil && l.ProjectID != nil {
				got = append(got, *l.ProjectID)
			}
			if l.ServiceID != nil && l.ProjectID == nil {
				got = append(got, "none")
			}
		}
		if len(got) == 0 {
			t.Fatal("no line of the service")
		}
		for _, g := range got {
			if g != p.ID {
				t.Errorf("lines' projects %v, want all %s", got, p.ID)
				break
			}
		}
	})
}
