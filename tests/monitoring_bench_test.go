package tests

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/monitoring"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/plugins/battlemetrics/fakebattlemetrics"
	"github.com/ezscale/platform/tests/testbin"
)

// benchGameServers is the fleet BenchmarkMonitoring5k watches.
const benchGameServers = 5000

// BenchmarkMonitoring5k monitors 5,000 game servers at the default
// one-minute interval through the BattleMetrics plugin as a real process
// (over the plugin host, as the core runs it) against the fake in this
// process, with its rate limits off. Time is simulated: each tick of the
// sampling job (a quarter interval) moves the clock, then Sample runs as
// the job would, and the clock runs on with the wall clock during the run,
// so a monitor's lag is how late its sample was taken past its due time,
// including the run's own work. After a warm-up minute (the plugin finds
// each server by address once and the core learns its id), three minutes
// are measured: the lag's p50 and p99, the longest run against the tick
// (the job keeps up while a run is shorter than a tick), and the CPU per
// sample of this process (core, database, fake) and of the plugin process.
func BenchmarkMonitoring5k(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			for range b.N {
				benchMonitoring(b, d)
			}
		})
	}
}

// benchServices is billing's view: every server is a running game service.
type benchServices struct{ svcs []monitoring.GameService }

func (s *benchServices) ActiveGameServices(_ context.Context, after string, limit int) ([]monitoring.GameService, error) {
	i, _ := slices.BinarySearchFunc(s.svcs, after, func(g monitoring.GameService, id string) int { return strings.Compare(g.ID, id) })
	for i < len(s.svcs) && s.svcs[i].ID <= after {
		i++
	}
	return s.svcs[i:min(len(s.svcs), i+limit)], nil
}

func (s *benchServices) GameServices(_ context.Context, ids []string) (map[string]monitoring.GameService, error) {
	out := make(map[string]monitoring.GameService, len(ids))
	for _, id := range ids {
		if i, ok := slices.BinarySearchFunc(s.svcs, id, func(g monitoring.GameService, id string) int { return strings.Compare(g.ID, id) }); ok {
			out[id] = s.svcs[i]
		}
	}
	return out, nil
}

func (s *benchServices) AccountGameService(context.Context, string, string) (*monitoring.GameService, error) {
	return nil, fmt.Errorf("not used")
}

// simClock is simulated time that runs on with the wall clock between Set
// calls.
type simClock struct {
	mu    sync.Mutex
	base  time.Time
	since time.Time
}

func (c *simClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.since = t, time.Now()
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.since))
}

func benchMonitoring(b *testing.B, d database.Dialect) {
	b.StopTimer()
	db := databasetest.New(b, d)
	fake := fakebattlemetrics.New(fakebattlemetrics.Options{AnonymousLimit: -1, TokenLimit: -1})
	srv := httptest.NewServer(fake)
	b.Cleanup(srv.Close)
	svcs := &benchServices{}
	for i := range benchGameServers {
		ip := fmt.Sprintf("10.%d.%d.%d", i/65536, (i/256)%256, i%256)
		fake.Put(fakebattlemetrics.Server{Name: fmt.Sprintf("Server %d", i), Game: "rust", IP: ip, Port: 28015, Players: i % 100, MaxPlayers: 100, Rank: i + 1})
		svcs.svcs = append(svcs.svcs, monitoring.GameService{ID: fmt.Sprintf("svc-%05d", i), AccountID: "bench", Live: true, Running: true,
			Attributes: map[string]string{"address": ip + ":28015"}})
	}
	bin, err := testbin.Plugin("battlemetrics")
	if err != nil {
		b.Fatal(err)
	}
	host := startPluginHost(b, pluginhost.Spec{Name: "battlemetrics", Path: bin,
		Config: map[string]any{"api_url": srv.URL, "requests_per_minute": int64(-1), "game": "rust"}})
	info, err := host.Get("battlemetrics")
	if err != nil {
		b.Fatal(err)
	}
	clock := &simClock{}
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock.Set(start)
	mon := monitoring.New(monitoring.Deps{DB: db, Services: svcs, Plugins: host},
		monitoring.Options{Plugins: []string{"battlemetrics"}, Now: clock.Now})
	ctx := context.Background()
	if n, err := mon.Attach(ctx); err != nil || n != benchGameServers {
		b.Fatalf("Attach: %d, %v", n, err)
	}
	interval := monitoring.DefaultOptions().Interval
	tick := mon.Tick()

	run := func(minutes int) (lags []time.Duration, samples int, longest time.Duration) {
		ticks := minutes * int(interval/tick)
		for range ticks {
			start = start.Add(tick)
			clock.Set(start)
			t0 := time.Now()
			st, err := mon.Sample(ctx)
			if err != nil {
				b.Fatal(err)
			}
			longest = max(longest, time.Since(t0))
			if st.Failed > 0 {
				b.Fatalf("%d samples failed", st.Failed)
			}
			lags = append(lags, st.Lag...)
			samples += st.Samples
		}
		return lags, samples, longest
	}
	run(1) // warm-up: the plugin finds each server once
	selfCPU, pluginCPU := cpuSelf(), cpuOf(info.PID)
	b.StartTimer()
	lags, samples, longest := run(3)
	b.StopTimer()
	selfCPU, pluginCPU = cpuSelf()-selfCPU, cpuOf(info.PID)-pluginCPU
	if samples < 3*benchGameServers*9/10 {
		b.Fatalf("%d samples in 3 minutes of %d servers", samples, benchGameServers)
	}
	slices.Sort(lags)
	pct := func(p float64) time.Duration { return lags[int(p*float64(len(lags)-1))] }
	b.ReportMetric(float64(samples)/3, "samples/min")
	b.ReportMetric(pct(0.5).Seconds(), "lag-p50-s")
	b.ReportMetric(pct(0.99).Seconds(), "lag-p99-s")
	b.ReportMetric(longest.Seconds(), "longest-run-s")
	b.ReportMetric(tick.Seconds(), "tick-s")
	b.ReportMetric(float64(selfCPU.Microseconds())/float64(samples), "core-cpu-µs/sample")
	b.ReportMetric(float64(pluginCPU.Microseconds())/float64(samples), "plugin-cpu-µs/sample")
}

// cpuSelf is this process's user and system CPU time.
func cpuSelf() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuOf is a process's user and system CPU time, from /proc (clock ticks
// of 10 ms).
func cpuOf(pid int) time.Duration {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
