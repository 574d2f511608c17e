package tests

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/testkit"
)

// provisionBenchServices is how many VPS services BenchmarkProvision1k
// provisions.
const provisionBenchServices = 1000

// BenchmarkProvision1k provisions 1,000 paid VPS services through the real
// `ezscale serve` and the real VirtFusion plugin process against the fake.
//
// The orders go through the real HTTP order path (paid from credit), but on
// an API-only core (jobs disabled): ordering 1,000 services one request at
// a time runs at about the rate they provision, so with workers running the
// figure would mix the order rate into the provisioning rate. The orders
// leave 1,000 durable provisioning jobs queued; the timer then runs from
// the start of a core with workers until every service is active. The
// ordering time is reported apart (s_ordering, untimed).
//
// Reported, from the timestamps the database records (River's attempted_at
// and the service's activated_at, both written by the core):
//   - s_drain, services/s: from the first job's start to the last
//     activation, and 1,000 divided by it;
//   - p50-ms, p99-ms: per service, from its job's start to activation (the
//     plugin's Create plus the core's reads and writes around it);
//   - p99-wait-s: per service, from the first job's start to its
//     activation: what the customers of a 1,000-order burst wait, most of
//     it in the queue;
//   - retries: attempts beyond the first (expected 0: the fake never fails).
//
// ns/op also counts starting the core and its plugins. Run with
// -benchtime=1x: one iteration is the whole scenario.
func BenchmarkProvision1k(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			for range b.N {
				benchProvision(b, d)
			}
		})
	}
}

func benchProvision(b *testing.B, dialect database.Dialect) {
	b.StopTimer()
	// Scale 2: 2,000 servers of room in hypervisor group 1, so capacity is
	// never what stops the run.
	f := startFakes(b, 2)
	dbURL := databasetest.URL(b, dialect)
	// Usage collection every hour: it would otherwise poll the services as
	// they become active and be measured with them.
	api := startPlatformWith(b, provConfigWith(b, dbURL, f, provSettings{jobsDisabled: true, usageInterval: "1h"}))
	api.credit(b, provisionBenchServices*999) // vps-small is 9.99 USD a month
	ordering := time.Now()
	for range provisionBenchServices {
		api.order(b, "vps-small")
	}
	orderingTook := time.Since(ordering)
	stopCore(b, api.c)

	db := openDB(b, dbURL)
	ctx := context.Background()
	workers := provConfigWith(b, dbURL, f, provSettings{usageInterval: "1h"})
	b.StartTimer()
	serve(b, workers)
	testkit.WaitWithin(b, "1,000 services active", 10*time.Minute, func() bool {
		n, err := db.NewSelect().Table("services").Where("status = 'active'").Count(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return n >= provisionBenchServices
	})
	b.StopTimer()

	var jobs []struct {
		Args        []byte    `bun:"args"`
		Attempt     int       `bun:"attempt"`
		AttemptedAt time.Time `bun:"attempted_at"`
	}
	// River keeps args as JSONB on both: json() turns SQLite's binary
	// form back into text.
	argsText := "args::text"
	if dialect == database.SQLite {
		argsText = "json(args)"
	}
	if err := db.NewRaw("SELECT "+argsText+" AS args, attempt, attempted_at FROM river_job WHERE kind = 'billing_provision'").Scan(ctx, &jobs); err != nil {
		b.Fatal(err)
	}
	started := map[string]time.Time{}
	retries := 0
	for _, j := range jobs {
		var args struct {
			ServiceID string `json:"service_id"`
		}
		if err := json.Unmarshal(j.Args, &args); err != nil {
			b.Fatalf("job args %s: %v", j.Args, err)
		}
		started[args.ServiceID] = j.AttemptedAt
		retries += j.Attempt - 1
	}
	var svcs []struct {
		ID          string    `bun:"id"`
		ActivatedAt time.Time `bun:"activated_at"`
	}
	if err := db.NewRaw("SELECT id, activated_at FROM services WHERE status = 'active'").Scan(ctx, &svcs); err != nil {
		b.Fatal(err)
	}
	if len(svcs) != provisionBenchServices || len(started) != provisionBenchServices {
		b.Fatalf("%d active services, %d provisioning jobs; want %d of each", len(svcs), len(started), provisionBenchServices)
	}
	var first, last time.Time
	for _, t := range started {
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	took := make([]float64, 0, len(svcs))
	waited := make([]float64, 0, len(svcs))
	for _, s := range svcs {
		t0, ok := started[s.ID]
		if !ok {
			b.Fatalf("service %s has no provisioning job", s.ID)
		}
		took = append(took, s.ActivatedAt.Sub(t0).Seconds()*1000)
		waited = append(waited, s.ActivatedAt.Sub(first).Seconds())
		if s.ActivatedAt.After(last) {
			last = s.ActivatedAt
		}
	}
	drain := last.Sub(first).Seconds()
	b.ReportMetric(drain, "s_drain")
	b.ReportMetric(float64(provisionBenchServices)/drain, "services/s")
	b.ReportMetric(percentile(took, 50), "p50-ms")
	b.ReportMetric(percentile(took, 99), "p99-ms")
	b.ReportMetric(percentile(waited, 99), "p99-wait-s")
	b.ReportMetric(float64(retries), "retries")
	b.ReportMetric(orderingTook.Seconds(), "s_ordering")
}

// percentile is the p-th percentile (nearest rank) of xs, which it sorts.
func percentile(xs []float64, p int) float64 {
	slices.Sort(xs)
	i := (len(xs)*p + 99) / 100
	return xs[max(0, min(len(xs)-1, i-1))]
}

// stopCore stops a core as an operator would (SIGTERM) and waits for it.
func stopCore(t testing.TB, c *core) {
	t.Helper()
	if err := c.cmd.Process.Signal(termSignal); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.done:
		if err != nil {
			t.Fatalf("ezscale serve exited with %v\n%s", err, c.logs.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("ezscale serve did not stop within a minute of SIGTERM")
	}
}

// openDB opens the cores' database from the test or benchmark, to read
// what they recorded; it is closed when the test ends.
func openDB(t testing.TB, url string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), url, database.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
