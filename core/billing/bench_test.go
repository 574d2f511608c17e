package billing_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/money"
)

const (
	benchServices = 100_000
	benchAccounts = 1_000
)

// benchFixture is 100,000 active monthly services over 1,000 accounts (half
// of them taxed), all due for renewal within invoice_days_before.
func benchFixture(b *testing.B, d database.Dialect) *testBundle {
	b.Helper()
	db := databasetest.New(b, d)
	tb := setup(b, db, setupOpts{noJobs: true, noHost: true})
	if _, err := tb.cat.PutTaxRate(tb.ctx, "DE", "VAT", 190_000); err != nil {
		b.Fatal(err)
	}
	plan := tb.plan(b, "vps", 999, nil)
	de := "DE"
	for i := range benchAccounts {
		acc := tb.account(b)
		if i%2 == 0 {
			if _, err := tb.b.UpdateProfile(tb.ctx, acc, billing.ProfileUpdate{Country: &de}, false); err != nil {
				b.Fatal(err)
			}
		}
		tb.insertServices(b, acc, plan, money.Monthly, date("2024-01-20"), benchServices/benchAccounts)
	}
	return tb
}

// peakHeap samples the live heap while f runs and returns its peak.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	return peak.Load()
}

func eachDialect(b *testing.B, f func(b *testing.B, d database.Dialect)) {
	for _, d := range []database.Dialect{database.Postgres, database.SQLite} {
		b.Run(string(d), func(b *testing.B) { f(b, d) })
	}
}

// BenchmarkBillingRunGenerate measures the generate step over 100,000 due
// services: every renewal invoice issued, in batches. Between iterations
// (untimed) the invoices are deleted again. Reports invoices/s and the
// peak live heap, which stays flat because the step streams in batches.
func BenchmarkBillingRunGenerate(b *testing.B) {
	eachDialect(b, func(b *testing.B, d database.Dialect) {
		tb := benchFixture(b, d)
		asOf := date("2024-02-14")
		var peak uint64
		var elapsed time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i > 0 {
				b.StopTimer()
				resetInvoices(b, tb)
				b.StartTimer()
			}
			start := time.Now()
			var n int64
			p := peakHeap(func() {
				var err error
				n, err = tb.b.RunStepNow(tb.ctx, billing.StepGenerate, asOf)
				if err != nil {
					b.Fatal(err)
				}
			})
			elapsed += time.Since(start)
			if n != benchServices {
				b.Fatalf("issued %d invoices, want %d", n, benchServices)
			}
			peak = max(peak, p)
		}
		b.ReportMetric(float64(benchServices)*float64(b.N)/elapsed.Seconds(), "invoices/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	})
}

// BenchmarkBillingRunNoop measures the re-run of the generate step once
// every invoice of the period exists: it must find nothing to do, fast.
func BenchmarkBillingRunNoop(b *testing.B) {
	eachDialect(b, func(b *testing.B, d database.Dialect) {
		tb := benchFixture(b, d)
		asOf := date("2024-02-14")
		if n := tb.step(b, billing.StepGenerate, asOf); n != benchServices {
			b.Fatalf("issued %d invoices, want %d", n, benchServices)
		}
		var peak uint64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var n int64
			p := peakHeap(func() {
				var err error
				if n, err = tb.b.RunStepNow(tb.ctx, billing.StepGenerate, asOf); err != nil {
					b.Fatal(err)
				}
			})
			if n != 0 {
				b.Fatalf("the re-run issued %d invoices", n)
			}
			peak = max(peak, p)
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	})
}

// resetInvoices removes the generated invoices (untimed) so the next
// iteration generates them all again.
func resetInvoices(b *testing.B, tb *testBundle) {
	b.Helper()
	ctx := context.Background()
	for _, q := range []string{"DELETE FROM invoice_lines", "DELETE FROM invoices", "UPDATE billing_counters SET value = 0"} {
		if _, err := tb.db.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyCreditStepNothingToPay measures the apply_credit step over
// 2,000 accounts holding credit, none owing an invoice it could pay (one in
// ten owes in another currency): the daily run's usual case, where the
// step's cost is finding out there is nothing to do. Every iteration sees
// the same state.
func BenchmarkApplyCreditStepNothingToPay(b *testing.B) {
	eachDialect(b, func(b *testing.B, d database.Dialect) {
		db := databasetest.New(b, d)
		tb := setup(b, db, setupOpts{noJobs: true, noHost: true})
		const accounts = 2000
		for i := range accounts {
			acc, err := accountstest.Team(tb.ctx, db, fmt.Sprintf("bench %d", i), nil)
			if err != nil {
				b.Fatal(err)
			}
			tb.post(b, acc, "USD", 1000)
			if i%10 == 0 {
				if _, err := billingtest.OpenInvoice(tb.ctx, db, acc, "", 500, "EUR", tb.clock.Now()); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ResetTimer()
		for b.Loop() {
			if n, err := tb.b.RunStepNow(tb.ctx, billing.StepApplyCredit, tb.clock.Now()); err != nil || n != 0 {
				b.Fatalf("the step paid from %d accounts (%v), want none", n, err)
			}
		}
		b.ReportMetric(float64(accounts)*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
	})
}
