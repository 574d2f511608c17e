package projects_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/projects"
)

// BenchmarkGraph measures the graph API's read (Service.Graph: the
// services through billing, their projects, the edges) for an account
// with 1,000 services in 10 projects and 3,000 dependencies, against the
// limit: plain SELECTs of the same rows (services joined with plans and
// projects, and the edges) scanned into structs. p50-ns and p99-ns are
// per call.
func BenchmarkGraph(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			tb := setup(b, databasetest.New(b, d))
			svc := tb.services(b, tb.a, 1000)
			for i := range 10 {
				p := tb.project(b, tb.a, "P"+string(rune('a'+i)))
				if _, err := tb.p.MoveServices(tb.ctx, tb.a, p.ID, projects.MoveInput{ServiceIDs: svc[i*100 : (i+1)*100]}); err != nil {
					b.Fatal(err)
				}
			}
			// service i depends on i+1, i+2 and i+3: a DAG of 2,994 edges,
			// topped up to 3,000 with i → i+4.
			var edges [][2]string
			for i := range svc {
				for k := 1; k <= 3 && i+k < len(svc); k++ {
					edges = append(edges, [2]string{svc[i], svc[i+k]})
				}
			}
			for i := 0; len(edges) < 3000; i++ {
				edges = append(edges, [2]string{svc[i], svc[i+4]})
			}
			insertEdges(b, tb, edges)

			b.Run("api", func(b *testing.B) {
				measure(b, func() error {
					g, err := tb.p.Graph(tb.ctx, tb.a, "")
					if err == nil && (len(g.Nodes) != 1000 || len(g.Edges) != 3000) {
						b.Fatalf("graph of %d nodes and %d edges", len(g.Nodes), len(g.Edges))
					}
					return err
				})
			})
			b.Run("select", func(b *testing.B) {
				type node struct {
					ID, Label, Status, PlanID, PlanName string
					ProjectID                           *string
				}
				type edge struct {
					ID, ServiceID, DependsOnID, Type, Note string
					Critical                               bool
				}
				measure(b, func() error {
					var nodes []node
					if err := tb.db.NewRaw(`SELECT s.id, s.label, s.status, s.plan_id, p.name AS plan_name, ps.project_id FROM services AS s
						JOIN plans AS p ON p.id = s.plan_id LEFT JOIN project_services AS ps ON ps.service_id = s.id
						WHERE s.account_id = ? ORDER BY s.id`, tb.a.AccountID).Scan(tb.ctx, &nodes); err != nil {
						return err
					}
					var edges []edge
					if err := tb.db.NewRaw(`SELECT id, service_id, depends_on_id, type, critical, note FROM service_dependencies
						WHERE account_id = ? ORDER BY id`, tb.a.AccountID).Scan(tb.ctx, &edges); err != nil {
						return err
					}
					if len(nodes) != 1000 || len(edges) != 3000 {
						b.Fatalf("%d nodes and %d edges", len(nodes), len(edges))
					}
					return nil
				})
			})
		})
	}
}

// BenchmarkAddDependency measures recording one dependency, cycle check
// included, in an account whose 2,000 services have 10,000 dependencies
// (service i depends on i+1 … i+5). Some 7,500 edges are reachable from
// the new edge's target; the check's search from both ends stops when the
// side of the new edge's service (the services depending on it) runs out.
func BenchmarkAddDependency(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			tb := setup(b, databasetest.New(b, d))
			svc := tb.services(b, tb.a, 2000)
			var edges [][2]string
			for i := range svc {
				for k := 1; k <= 5 && i+k < len(svc); k++ {
					edges = append(edges, [2]string{svc[i], svc[i+k]})
				}
			}
			for i := 0; len(edges) < 10000; i++ {
				edges = append(edges, [2]string{svc[i], svc[i+6]})
			}
			insertEdges(b, tb, edges)
			if b.N > 900*900 {
				b.Fatalf("b.N %d is more than the distinct edges this benchmark has", b.N)
			}
			i := 0
			measure(b, func() error {
				from, to := i%900, i%900+10+i/900
				i++
				_, err := tb.p.AddDependency(tb.ctx, tb.a, projects.DependencyInput{ServiceID: svc[from], DependsOnID: svc[to]})
				return err
			})
		})
	}
}

// insertEdges stores dependencies directly, in batches.
func insertEdges(b *testing.B, tb *testBundle, edges [][2]string) {
	b.Helper()
	now := time.Now().UTC()
	for start := 0; start < len(edges); start += 500 {
		rows := make([]projects.Dependency, 0, 500)
		for _, e := range edges[start:min(len(edges), start+500)] {
			rows = append(rows, projects.Dependency{ID: uuid.Must(uuid.NewV7()).String(), AccountID: tb.a.AccountID, ServiceID: e[0],
				DependsOnID: e[1], Type: projects.TypeOther, CreatedAt: now, UpdatedAt: now})
		}
		if _, err := tb.db.NewInsert().Model(&rows).Exec(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// measure runs op b.N times and reports the median and 99th percentile.
func measure(b *testing.B, op func() error) {
	b.Helper()
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(times[min(len(times)-1, len(times)*99/100)].Nanoseconds()), "p99-ns")
}
