package tests

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/database"
)

// BenchmarkCrashToResume measures, with the shipped defaults (the derived
// rescue horizon, 2m30s; the scheduler's 2-minute job budget and 30 s
// backoff), two replicas on PostgreSQL: the time from a replica's crash
// (SIGKILL) while the 50 calls of a chunk are in flight to its work
// resuming on the other replica (the first backend read that settles the
// rescued chunk), and to every run having its outcome. Run it with
// -benchtime=1x: one iteration is a whole scenario (several minutes, most
// of it the rescue horizon).
func BenchmarkCrashToResume(b *testing.B) {
	for range b.N {
		benchCrash(b)
	}
}

func benchCrash(b *testing.B) {
	b.StopTimer()
	env := schedConfigWith(b, database.Postgres, schedSettings{record: true, rescueAfter: "default"})
	cores := env.replicas(b, 2)
	account, err := accountstest.Account(context.Background(), env.open(b), "bench@example.net")
	if err != nil {
		b.Fatal(err)
	}
	victim, _, held, _ := holdChunk(b, env, cores, account)
	_, before := env.backend.snapshot()
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		b.Fatal(err)
	}
	crashed := time.Now()
	// Only the crash to the end is timed: with the timer stopped
	// throughout, the framework would see an iteration take no time and
	// run ever more of them.
	b.StartTimer()
	victim.done <- <-victim.done
	_ = syscall.Kill(held[0].PID, syscall.SIGKILL)
	env.backend.release()
	env.backend.waitState(b, "the rescued chunk's first read", func(_ []backendCall, reads int) bool { return reads > before })
	resumed := time.Since(crashed)
	env.waitRunsFinal(b, 50)
	done := time.Since(crashed)
	b.StopTimer()
	b.ReportMetric(resumed.Seconds(), "s_crash_to_resume")
	b.ReportMetric(done.Seconds(), "s_crash_to_done")
}
