package monitoring_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/monitoring"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// fakeServices is billing's game services, set by the test.
type fakeServices struct {
	mu   sync.Mutex
	svcs map[string]monitoring.GameService
}

func (f *fakeServices) put(s monitoring.GameService) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.svcs[s.ID] = s
}

func (f *fakeServices) ActiveGameServices(_ context.Context, after string, limit int) ([]monitoring.GameService, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []monitoring.GameService
	for _, id := range []string{"svc-1", "svc-2", "svc-3"} {
		if s, ok := f.svcs[id]; ok && id > after && s.Running && len(out) < limit {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeServices) GameServices(_ context.Context, ids []string) (map[string]monitoring.GameService, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]monitoring.GameService{}
	for _, id := range ids {
		if s, ok := f.svcs[id]; ok {
			out[id] = s
		}
	}
	return out, nil
}

func (f *fakeServices) AccountGameService(_ context.Context, accountID, serviceID string) (*monitoring.GameService, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.svcs[serviceID]
	if !ok || s.AccountID != accountID {
		return nil, apperr.NotFoundf("service not found")
	}
	return &s, nil
}

// fakeMonitor is a monitor plugin whose answers the test sets per address.
type fakeMonitor struct {
	mu      sync.Mutex
	answers map[string]*pb.GetServerStatsResponse
	errs    map[string]error
	calls   []*pb.GetServerStatsRequest
	// release, when set, holds every call until closed.
	release  chan struct{}
	inflight atomic.Int32
	maxIn    atomic.Int32
}

func (f *fakeMonitor) GetServerStats(ctx context.Context, req *pb.GetServerStatsRequest) (*pb.GetServerStatsResponse, error) {
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxIn.Load()
		if n <= m || f.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, req)
	release := f.release
	resp, err := f.answers[req.GetAddress()], f.errs[req.GetAddress()]
	f.mu.Unlock()
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, sdk.Errorf(sdk.NotFound, "not listed")
	}
	return resp, nil
}

func (f *fakeMonitor) GetPlayerHistory(context.Context, *pb.GetPlayerHistoryRequest) (*pb.GetPlayerHistoryResponse, error) {
	return nil, sdk.Errorf(sdk.NotSupported, "no history")
}

func (f *fakeMonitor) set(address string, resp *pb.GetServerStatsResponse, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[address], f.errs[address] = resp, err
}

func (f *fakeMonitor) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

type fakePlugins map[string]*fakeMonitor

func (p fakePlugins) Monitor(name string) (sdk.MonitorClient, error) {
	if m, ok := p[name]; ok {
		return m, nil
	}
	return nil, errors.New("no such plugin")
}

type healthEvent struct {
	ServiceID string
	Down      bool
}

type testBundle struct {
	db       *database.DB
	clock    *testkit.Clock
	services *fakeServices
	bm, gt   *fakeMonitor
	svc      *monitoring.Service
	mu       sync.Mutex
	health   []healthEvent
}

func (b *testBundle) healthEvents() []healthEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]healthEvent(nil), b.health...)
}

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func setup(t *testing.T, db *database.DB, opts monitoring.Options) *testBundle {
	t.Helper()
	b := &testBundle{db: db, clock: testkit.NewClock(t0), services: &fakeServices{svcs: map[string]monitoring.GameService{}},
		bm: &fakeMonitor{answers: map[string]*pb.GetServerStatsResponse{}, errs: map[string]error{}},
		gt: &fakeMonitor{answers: map[string]*pb.GetServerStatsResponse{}, errs: map[string]error{}}}
	if opts.Plugins == nil {
		opts.Plugins = []string{"battlemetrics", "gametracker"}
	}
	opts.Interval, opts.Now = time.Minute, b.clock.Now
	b.svc = monitoring.New(monitoring.Deps{DB: db, Services: b.services, Plugins: fakePlugins{"battlemetrics": b.bm, "gametracker": b.gt},
		Health: func(_ context.Context, _ bun.Tx, _, serviceID string, down bool, _ string) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.health = append(b.health, healthEvent{serviceID, down})
			return nil
		}}, opts)
	b.services.put(monitoring.GameService{ID: "svc-1", AccountID: "acct-1", Live: true, Running: true,
		Attributes: map[string]string{"address": "203.0.113.10:28015"}})
	b.services.put(monitoring.GameService{ID: "svc-2", AccountID: "acct-1", Live: true, Running: true, Attributes: map[string]string{}})
	b.bm.set("203.0.113.10", &pb.GetServerStatsResponse{ProviderServerId: "4729828", Status: "online", Players: 12, MaxPlayers: 50,
		Rank: 85, Name: "Moose", Map: "Procedural Map", ListingUrl: "https://www.battlemetrics.com/servers/rust/4729828"}, nil)
	b.gt.set("203.0.113.10", &pb.GetServerStatsResponse{ProviderServerId: "203.0.113.10:28015", Status: "online", Players: 11, MaxPlayers: 50,
		ListingUrl: "https://www.gametracker.com/server_info/203.0.113.10:28015/",
		BannerUrl:  "https://cache.gametracker.com/server_info/203.0.113.10:28015/b_560_95_1.png"}, nil)
	return b
}

func (b *testBundle) sample(t *testing.T) monitoring.SampleStats {
	t.Helper()
	st, err := b.svc.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (b *testBundle) monitors(t *testing.T) []monitoring.Monitor {
	t.Helper()
	var ms []monitoring.Monitor
	if err := b.db.NewSelect().Model(&ms).OrderExpr("service_id, plugin").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestAttachThenSample: monitors are attached per plugin to game services
// with an address (not to one without), each sample stores the readings
// and the listing id it learned, the next sample comes an interval plus a
// bounded jitter later, and the summary shows the preferred listing's
// numbers and every listing's links.
func TestAttachThenSample(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, monitoring.Options{Jitter: 10 * time.Second})
		n, err := b.svc.Attach(context.Background())
		if err != nil || n != 2 {
			t.Fatalf("Attach: %d, %v; want 2 monitors", n, err)
		}
		if n, _ := b.svc.Attach(context.Background()); n != 0 {
			t.Errorf("second Attach added %d", n)
		}
		due := map[string]time.Time{}
		for _, m := range b.monitors(t) {
			if d := m.NextSampleAt.Sub(b.clock.Now()); d < 0 || d >= time.Minute {
				t.Errorf("%s first sample in %s, want within the interval", m.Plugin, d)
			}
			due[m.Plugin] = m.NextSampleAt
		}
		b.clock.Add(time.Minute)
		st := b.sample(t)
		if st.Monitors != 2 || st.Samples != 2 || st.Failed != 0 {
			t.Fatalf("sample stats %+v", st)
		}
		for _, m := range b.monitors(t) {
			if d := m.NextSampleAt.Sub(due[m.Plugin]); d < 55*time.Second || d >= 65*time.Second {
				t.Errorf("%s next sample %s after the last was due, want the interval ± half the jitter", m.Plugin, d)
			}
			if m.Plugin == "battlemetrics" && m.ListingID != "4729828" {
				t.Errorf("listing id %q not learned", m.ListingID)
			}
		}
		if st := b.sample(t); st.Monitors != 0 {
			t.Errorf("sampled %d monitors again before they were due", st.Monitors)
		}
		b.clock.Add(80 * time.Second)
		if st := b.sample(t); st.Monitors != 2 {
			t.Errorf("sampled %d monitors once due, want 2", st.Monitors)
		}
		b.bm.mu.Lock()
		last := b.bm.calls[len(b.bm.calls)-1]
		b.bm.mu.Unlock()
		if last.GetProviderServerId() != "4729828" {
			t.Errorf("second call %v does not name the learned id", last)
		}

		sum, err := b.svc.Summary(context.Background(), "acct-1", "svc-1", "7d")
		if err != nil {
			t.Fatal(err)
		}
		up := 100.0
		want := &monitoring.Summary{ServiceID: "svc-1", Monitored: true, Source: "battlemetrics", Status: "online", Name: "Moose",
			Map: "Procedural Map", Players: 12, MaxPlayers: 50, Rank: 85, UptimePercent: &up, Range: "7d", BucketSeconds: 3600,
			History: []monitoring.Point{{At: t0, Players: 12, Min: 12, Max: 12, Samples: 2}}}
		got := *sum
		got.LastSampleAt, got.Listings = nil, nil
		if diff := cmp.Diff(want, &got); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}
		var links []string
		for _, l := range sum.Listings {
			links = append(links, l.Plugin, l.ListingURL, l.BannerURL)
		}
		if diff := cmp.Diff([]string{"battlemetrics", "https://www.battlemetrics.com/servers/rust/4729828", "",
			"gametracker", "https://www.gametracker.com/server_info/203.0.113.10:28015/",
			"https://cache.gametracker.com/server_info/203.0.113.10:28015/b_560_95_1.png"}, links); diff != "" {
			t.Errorf("listings (-want +got):\n%s", diff)
		}
		if _, err := b.svc.Summary(context.Background(), "acct-2", "svc-1", "7d"); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("another account's summary: %v, want NotFound", err)
		}
		if _, err := b.svc.Summary(context.Background(), "acct-1", "svc-1", "1y"); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("range 1y: %v, want Invalid", err)
		}
	})
}

// TestListingDownRaisesHealthOnce: a listing that shows a running server
// offline raises the health path once after DownAfter samples, and once
// more (up) when it is online again; a server its backend does not run is
// not an outage.
func TestListingDownRaisesHealthOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, monitoring.Options{Plugins: []string{"battlemetrics"}, DownAfter: 3})
		if _, err := b.svc.Attach(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.bm.set("203.0.113.10", &pb.GetServerStatsResponse{ProviderServerId: "1", Status: "offline", MaxPlayers: 50}, nil)
		step := func() {
			b.clock.Add(2 * time.Minute)
			b.sample(t)
		}
		step()
		step()
		if ev := b.healthEvents(); len(ev) != 0 {
			t.Fatalf("health after 2 down samples: %v", ev)
		}
		step()
		step()
		if diff := cmp.Diff([]healthEvent{{"svc-1", true}}, b.healthEvents()); diff != "" {
			t.Fatalf("health after 4 down samples (-want +got):\n%s", diff)
		}
		b.bm.set("203.0.113.10", &pb.GetServerStatsResponse{ProviderServerId: "1", Status: "online", Players: 1, MaxPlayers: 50}, nil)
		step()
		step()
		if diff := cmp.Diff([]healthEvent{{"svc-1", true}, {"svc-1", false}}, b.healthEvents()); diff != "" {
			t.Fatalf("health once online (-want +got):\n%s", diff)
		}

		// Suspended (not running): offline is expected, not an outage.
		b.services.put(monitoring.GameService{ID: "svc-1", AccountID: "acct-1", Live: true, Running: false,
			Attributes: map[string]string{"address": "203.0.113.10:28015"}})
		b.bm.set("203.0.113.10", &pb.GetServerStatsResponse{ProviderServerId: "1", Status: "offline", MaxPlayers: 50}, nil)
		for range 4 {
			step()
		}
		if n := len(b.healthEvents()); n != 2 {
			t.Errorf("%d health events for a server its backend does not run, want none new", n-2)
		}
	})
}

// TestListingTextIsStoredWhateverItHolds: a server name carrying a NUL
// (some games' colour codes) and a map name of a thousand characters are
// stored cleaned and bounded, and the batch's other sample is kept: the
// write of a NUL failed the batch's transaction on both dialects.
func TestListingTextIsStoredWhateverItHolds(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, monitoring.Options{})
		if _, err := b.svc.Attach(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.bm.set("203.0.113.10", &pb.GetServerStatsResponse{ProviderServerId: "4729828", Status: "online", Players: 3, MaxPlayers: 50,
			Name: "\x00^1Moose\x00^7 EU", Map: strings.Repeat("é", 1000)}, nil)
		b.clock.Add(time.Minute)
		if st := b.sample(t); st.Samples != 2 || st.Failed != 0 {
			t.Fatalf("sample stats %+v, want both monitors sampled", st)
		}
		for _, m := range b.monitors(t) {
			if m.Plugin != "battlemetrics" {
				if m.LastSampleAt == nil {
					t.Errorf("%s: the batch's other sample was lost", m.Plugin)
				}
				continue
			}
			if want := "\uFFFD^1Moose\uFFFD^7 EU"; m.Name != want {
				t.Errorf("name %q, want %q", m.Name, want)
			}
			if want := strings.Repeat("é", 127); m.Map != want {
				t.Errorf("map of %d bytes, want the first 254 bytes (127 characters)", len(m.Map))
			}
		}
	})
}

// TestRetryHintDefersTheNextSample: an Unavailable answer with a retry
// hint longer than the interval is not asked again before the hint, and a
// stale reading keeps the links but stores no sample.
func TestRetryHintDefersTheNextSample(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, monitoring.Options{})
		if _, err := b.svc.Attach(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.bm.set("203.0.113.10", nil, sdk.UnavailableError(5*time.Minute, "rate limited"))
		b.gt.set("203.0.113.10", &pb.GetServerStatsResponse{Status: "unknown", Stale: true,
			ListingUrl: "https://www.gametracker.com/server_info/203.0.113.10:28015/"}, nil)
		b.clock.Add(time.Minute)
		st := b.sample(t)
		if st.Failed != 1 || st.Samples != 0 {
			t.Fatalf("stats %+v, want 1 failure and no sample", st)
		}
		calls := b.bm.callCount()
		b.clock.Add(2 * time.Minute)
		b.sample(t)
		if n := b.bm.callCount(); n != calls {
			t.Errorf("%d calls within the retry hint", n-calls)
		}
		b.clock.Add(4 * time.Minute)
		b.sample(t)
		if n := b.bm.callCount(); n != calls+1 {
			t.Errorf("%d calls after the retry hint, want 1", n-calls)
		}
		for _, m := range b.monitors(t) {
			switch m.Plugin {
			case "battlemetrics":
				if m.LastError == "" || m.LastSampleAt != nil {
					t.Errorf("battlemetrics monitor %+v: want an error and no sample", m)
				}
			case "gametracker":
				if !m.Stale || m.ListingURL == "" || m.LastSampleAt != nil {
					t.Errorf("gametracker monitor %+v: want stale with its link and no sample", m)
				}
			}
		}
	})
}

// TestSamplingIsBoundedAndOutsideTransactions: at most Concurrency calls
// run at once, and while they wait no transaction is open (another write
// goes through).
func TestSamplingIsBoundedAndOutsideTransactions(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, monitoring.Options{Plugins: []string{"battlemetrics"}, Concurrency: 3})
		for _, id := range []string{"svc-a", "svc-b", "svc-c", "svc-d", "svc-e", "svc-f", "svc-g"} {
			b.services.put(monitoring.GameService{ID: id, AccountID: "acct-1", Live: true, Running: true})
			if _, err := b.svc.SetSettings(context.Background(), "acct-1", id, monitoring.SettingsInput{Address: "203.0.113.10", Port: 28015}); err != nil {
				t.Fatal(err)
			}
		}
		release := make(chan struct{})
		b.bm.mu.Lock()
		b.bm.release = release
		b.bm.mu.Unlock()
		done := make(chan error, 1)
		go func() { _, err := b.svc.Sample(context.Background()); done <- err }()
		testkit.WaitFor(t, "three calls in flight", func() bool { return b.bm.inflight.Load() == 3 })
		if _, err := b.db.NewUpdate().Model((*monitoring.Monitor)(nil)).Set("game = 'rust'").Where("service_id = 'svc-a'").
			Exec(context.Background()); err != nil {
			t.Fatalf("a write while calls are in flight: %v", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := b.bm.maxIn.Load(); got != 3 {
			t.Errorf("%d calls in flight at most, want 3", got)
		}
	})
}

// TestSettings: refusals name the field, another account's service is
// NotFound, the settings reach the plugin (listing id as the provider's
// id), survive the automatic attachment, and are audited.
func TestSettings(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, monitoring.Options{})
		ctx := context.Background()
		_, err := b.svc.SetSettings(ctx, "acct-1", "svc-1", monitoring.SettingsInput{Address: "http://x", Port: 70000,
			ListingIDs: map[string]string{"steam": "1"}})
		var fields []string
		if e, ok := apperr.As(err); ok {
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
		}
		if diff := cmp.Diff([]string{"address", "port", "listing_ids"}, fields); diff != "" {
			t.Errorf("refused fields (-want +got):\n%s (%v)", diff, err)
		}
		if _, err := b.svc.SetSettings(ctx, "acct-2", "svc-1", monitoring.SettingsInput{Address: "203.0.113.20", Port: 27015}); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("another account's service: %v, want NotFound", err)
		}
		got, err := b.svc.SetSettings(ctx, "acct-1", "svc-1", monitoring.SettingsInput{Address: "play.example.net", Port: 27015, Game: "rust",
			ListingIDs: map[string]string{"battlemetrics": "999"}})
		if err != nil {
			t.Fatal(err)
		}
		want := &monitoring.Settings{Enabled: true, Address: "play.example.net", Port: 27015, Game: "rust", Manual: true,
			ListingIDs: map[string]string{"battlemetrics": "999"}, Plugins: []string{"battlemetrics", "gametracker"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("settings (-want +got):\n%s", diff)
		}
		if _, err := b.svc.Attach(ctx); err != nil {
			t.Fatal(err)
		}
		b.sample(t)
		b.bm.mu.Lock()
		req := b.bm.calls[0]
		b.bm.mu.Unlock()
		if req.GetAddress() != "play.example.net" || req.GetPort() != 27015 || req.GetProviderServerId() != "999" || req.GetGame() != "rust" {
			t.Errorf("plugin asked %v", req)
		}
		recs, err := audit.List(ctx, db, audit.Filter{AccountID: "acct-1"})
		if err != nil || len(recs) != 1 || recs[0].Action != "monitoring.settings.set" {
			t.Errorf("audit: %v, %v", recs, err)
		}
	})
}

// TestSummaryChartAndRetention: samples are bucketed (hourly for 7 days,
// six-hourly for 30), uptime counts online samples, and Prune drops what is
// older than the retention.
func TestSummaryChartAndRetention(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, monitoring.Options{Plugins: []string{"battlemetrics"}, Retention: 35 * 24 * time.Hour})
		ctx := context.Background()
		if _, err := b.svc.Attach(ctx); err != nil {
			t.Fatal(err)
		}
		samples := []monitoring.Sample{
			{ServiceID: "svc-1", Plugin: "battlemetrics", SampledAt: t0.Add(-40 * 24 * time.Hour), Online: true, Players: 99},
			{ServiceID: "svc-1", Plugin: "battlemetrics", SampledAt: t0.Add(-2*time.Hour + time.Minute), Online: true, Players: 10},
			{ServiceID: "svc-1", Plugin: "battlemetrics", SampledAt: t0.Add(-2*time.Hour + 30*time.Minute), Online: true, Players: 21},
			{ServiceID: "svc-1", Plugin: "battlemetrics", SampledAt: t0.Add(-time.Hour + time.Minute), Online: false, Players: 0},
			{ServiceID: "svc-1", Plugin: "battlemetrics", SampledAt: t0.Add(-10 * time.Minute), Online: true, Players: 5},
		}
		if _, err := db.NewInsert().Model(&samples).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		sum, err := b.svc.Summary(ctx, "acct-1", "svc-1", "7d")
		if err != nil {
			t.Fatal(err)
		}
		wantPoints := []monitoring.Point{
			{At: t0.Add(-2 * time.Hour), Players: 16, Min: 10, Max: 21, Samples: 2},
			{At: t0.Add(-time.Hour), Players: 3, Min: 0, Max: 5, Samples: 2},
		}
		if diff := cmp.Diff(wantPoints, sum.History); diff != "" {
			t.Errorf("7d history (-want +got):\n%s", diff)
		}
		if sum.UptimePercent == nil || *sum.UptimePercent != 75 {
			t.Errorf("uptime %v, want 75", sum.UptimePercent)
		}
		sum, err = b.svc.Summary(ctx, "acct-1", "svc-1", "30d")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]monitoring.Point{{At: t0.Add(-4 * time.Hour), Players: 9, Min: 0, Max: 21, Samples: 4}}, sum.History); diff != "" || sum.BucketSeconds != 6*3600 {
			t.Errorf("30d history (-want +got):\n%s (bucket %d)", diff, sum.BucketSeconds)
		}
		if n, err := b.svc.Prune(ctx); err != nil || n != 1 {
			t.Errorf("Prune: %d, %v; want the 40-day-old sample", n, err)
		}
	})
}

// TestEndedServiceLosesItsMonitors: a monitor of a service that is no
// longer live is removed at its next sample, without a plugin call.
func TestEndedServiceLosesItsMonitors(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, monitoring.Options{})
		if _, err := b.svc.Attach(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.services.put(monitoring.GameService{ID: "svc-1", AccountID: "acct-1"})
		b.clock.Add(time.Minute)
		st := b.sample(t)
		if st.Removed != 2 || b.bm.callCount() != 0 || len(b.monitors(t)) != 0 {
			t.Errorf("stats %+v, %d calls, monitors %v", st, b.bm.callCount(), b.monitors(t))
		}
	})
}
