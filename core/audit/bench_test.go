package audit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// auditWriters is the number of concurrent appenders.
const auditWriters = 8

// BenchmarkAuditAppend measures the append rate of the hash chain with 8
// concurrent writers, each event in its own transaction (the chain head row
// serialises them, on SQLite the single write connection too). One op is one
// event; events/s is the throughput of all writers together.
func BenchmarkAuditAppend(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := databasetest.New(b, d)
			ctx := audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorUser, ActorID: "bench", RequestID: "req_bench", IP: "127.0.0.1", UserAgent: "bench"})
			ev := audit.Event{Action: "bench.append", AccountID: "acct", TargetType: "thing", TargetID: "t1", Changes: map[string]any{"field": "value", "n": 1}}
			var next atomic.Int64
			var failed atomic.Value
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range auditWriters {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if err := audit.Log(ctx, db, ev); err != nil {
							failed.Store(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			rep, err := audit.Verify(context.Background(), db)
			if err != nil || !rep.OK || rep.Checked != int64(b.N) {
				b.Fatalf("chain after the benchmark: %+v, %v", rep, err)
			}
		})
	}
}
