package main

import (
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ezscale/platform/plugins/battlemetrics/fakebattlemetrics"
	"github.com/ezscale/platform/plugins/internal/fault"
	"github.com/ezscale/platform/plugins/internal/processtest"
	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// TestMain lets the test binary double as the plugin process for the tests
// that start one (see package processtest).
func TestMain(m *testing.M) {
	processtest.ServeIfChild(func() sdk.Plugin { return New() })
	os.Exit(m.Run())
}

type testBundle struct {
	fake *fakebattlemetrics.Fake
	url  string
	h    *plugintest.Harness
}

// setup serves an empty fake BattleMetrics and the plugin configured
// against it; overrides replace config values (nil removes one).
func setup(t *testing.T, overrides map[string]any) *testBundle {
	t.Helper()
	fake := fakebattlemetrics.New(fakebattlemetrics.Options{})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cfg := map[string]any{"api_url": srv.URL, "api_token": fakebattlemetrics.DefaultToken}
	for k, v := range overrides {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	return &testBundle{fake: fake, url: srv.URL, h: plugintest.New(t, New(), plugintest.WithConfig(cfg))}
}

func stats(address string, port int32) *pb.GetServerStatsRequest {
	return &pb.GetServerStatsRequest{Address: address, Port: port, Game: "rust"}
}

// TestFindsServerByAddressAndPortThenByID: the fuzzy search's near misses
// (another IP that contains the address, another port) are skipped, a
// query port matches, and the id is cached so the next read is one
// GET /servers/{id} without a search.
func TestFindsServerByAddressAndPortThenByID(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.fake.Put(fakebattlemetrics.Server{Name: "near", Game: "rust", IP: "10.0.0.10", Port: 28015})
	b.fake.Put(fakebattlemetrics.Server{Name: "other port", Game: "rust", IP: "10.0.0.1", Port: 28016, PortQuery: 28017})
	id := b.fake.Put(fakebattlemetrics.Server{Name: "Rusty Moose", Game: "rust", IP: "10.0.0.1", Port: 28010, PortQuery: 28015,
		Players: 244, MaxPlayers: 275, Rank: 85, Map: "Moose Maps"})
	got, err := b.h.Monitor().GetServerStats(t.Context(), stats("10.0.0.1", 28015))
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.GetServerStatsResponse{ProviderServerId: id, Name: "Rusty Moose", Status: "online", Players: 244, MaxPlayers: 275,
		Map: "Moose Maps", Rank: 85, ListingUrl: "https://www.battlemetrics.com/servers/rust/" + id}
	if diff := cmp.Diff(want, got, protocmp.Transform(), protocmp.IgnoreFields(&pb.GetServerStatsResponse{}, "updated_at")); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if _, err := b.h.Monitor().GetServerStats(t.Context(), stats("10.0.0.1", 28015)); err != nil {
		t.Fatal(err)
	}
	if s, g := b.fake.Calls("GET /servers"), b.fake.Calls("GET /servers/{id}"); s != 1 || g != 1 {
		t.Errorf("calls: %d searches and %d reads, want 1 and 1 (the id is cached)", s, g)
	}
}

// TestFindFollowsLinksNext: the server on the second page of results is
// found through links.next.
func TestFindFollowsLinksNext(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	for i := range 150 {
		b.fake.Put(fakebattlemetrics.Server{Name: "filler", Game: "rust", IP: "10.0.0.1", Port: 20000 + i})
	}
	id := b.fake.Put(fakebattlemetrics.Server{Name: "late", Game: "rust", IP: "10.0.0.1", Port: 28015, Players: 3, MaxPlayers: 10})
	got, err := b.h.Monitor().GetServerStats(t.Context(), stats("10.0.0.1", 28015))
	if err != nil || got.GetProviderServerId() != id {
		t.Fatalf("GetServerStats: %v, %v; want server %s", got, err, id)
	}
	if n := b.fake.Calls("GET /servers"); n != 2 {
		t.Errorf("%d list calls, want 2 (the first page and links.next)", n)
	}
}

// TestUnknownServerIsNotFound: no exact match on any page is NotFound,
// and a stale id is NotFound too.
func TestUnknownServerIsNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.fake.Put(fakebattlemetrics.Server{Name: "near", Game: "rust", IP: "10.0.0.10", Port: 28015})
	_, err := b.h.Monitor().GetServerStats(t.Context(), stats("10.0.0.1", 28015))
	if sdk.KindOf(err) != sdk.NotFound {
		t.Errorf("unknown address: %v, want NotFound", err)
	}
	_, err = b.h.Monitor().GetServerStats(t.Context(), &pb.GetServerStatsRequest{ProviderServerId: "1"})
	if sdk.KindOf(err) != sdk.NotFound {
		t.Errorf("unknown id: %v, want NotFound", err)
	}
}

// TestRetryAfterIsHonoured: a 429 answers Unavailable with the API's
// Retry-After, and calls within that time are answered the same way
// without reaching the API.
func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := b.fake.Put(fakebattlemetrics.Server{Name: "A", Game: "rust", IP: "10.0.0.1", Port: 28015})
	b.fake.FailNext("GET /servers/{id}", fault.Failure{Status: 429, RetryAfter: 90 * time.Second})
	req := &pb.GetServerStatsRequest{ProviderServerId: id}
	_, err := b.h.Monitor().GetServerStats(t.Context(), req)
	if sdk.KindOf(err) != sdk.Unavailable || sdk.RetryAfterOf(err) != 90*time.Second {
		t.Fatalf("429: %v, want Unavailable retry after 90s", err)
	}
	_, err = b.h.Monitor().GetServerStats(t.Context(), req)
	if sdk.KindOf(err) != sdk.Unavailable || sdk.RetryAfterOf(err) <= 0 {
		t.Errorf("during Retry-After: %v, want Unavailable with a retry hint", err)
	}
	if n := b.fake.Calls("GET /servers/{id}"); n != 1 {
		t.Errorf("%d calls reached the API, want 1", n)
	}
}

// TestOwnBudgetHoldsBack: past the configured per-minute budget the plugin
// answers Unavailable with a retry hint instead of calling.
func TestOwnBudgetHoldsBack(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]any{"requests_per_minute": int64(2)})
	id := b.fake.Put(fakebattlemetrics.Server{Name: "A", Game: "rust", IP: "10.0.0.1", Port: 28015})
	req := &pb.GetServerStatsRequest{ProviderServerId: id}
	for range 2 {
		if _, err := b.h.Monitor().GetServerStats(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	_, err := b.h.Monitor().GetServerStats(t.Context(), req)
	if sdk.KindOf(err) != sdk.Unavailable || sdk.RetryAfterOf(err) <= 0 {
		t.Errorf("third call: %v, want Unavailable with a retry hint", err)
	}
	if n := b.fake.Calls("GET /servers/{id}"); n != 2 {
		t.Errorf("%d calls reached the API, want 2", n)
	}
}

// TestBadTokenIsUnauthenticated: the API's 401 is Unauthenticated.
func TestBadTokenIsUnauthenticated(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]any{"api_token": "wrong"})
	_, err := b.h.Monitor().GetServerStats(t.Context(), stats("10.0.0.1", 28015))
	if sdk.KindOf(err) != sdk.Unauthenticated {
		t.Errorf("bad token: %v, want Unauthenticated", err)
	}
}

// TestPlayerHistory: the history of a server found by address, at the
// API resolution that fits the asked bucket width.
func TestPlayerHistory(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := b.fake.Put(fakebattlemetrics.Server{Name: "A", Game: "rust", IP: "10.0.0.1", Port: 28015})
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	b.fake.AddSamples(id, fakebattlemetrics.Sample{At: t0, Players: 10}, fakebattlemetrics.Sample{At: t0.Add(30 * time.Minute), Players: 20},
		fakebattlemetrics.Sample{At: t0.Add(time.Hour), Players: 5})
	got, err := b.h.Monitor().GetPlayerHistory(t.Context(), &pb.GetPlayerHistoryRequest{Address: "10.0.0.1", Port: 28015, Game: "rust",
		Start: timestamppb.New(t0), Stop: timestamppb.New(t0.Add(2 * time.Hour)), ResolutionMinutes: 60})
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.GetPlayerHistoryResponse{ProviderServerId: id, Points: []*pb.PlayerCountPoint{
		{Timestamp: timestamppb.New(t0), Value: 15, Min: 10, Max: 20},
		{Timestamp: timestamppb.New(t0.Add(time.Hour)), Value: 5, Min: 5, Max: 5},
	}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if !b.h.HasCapability(sdk.CapPlayerHistory) {
		t.Error("monitor.player_history is not described")
	}
}

// TestRealProcess runs the plugin as a child process over go-plugin.
func TestRealProcess(t *testing.T) {
	t.Parallel()
	fake := fakebattlemetrics.New(fakebattlemetrics.Options{})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	id := fake.Put(fakebattlemetrics.Server{Name: "A", Game: "rust", IP: "10.0.0.1", Port: 28015, Players: 7, MaxPlayers: 50})
	cc := processtest.Start(t)
	diags, err := sdk.NewPluginClient(cc).Configure(t.Context(), map[string]any{"api_url": srv.URL})
	if err != nil || diags.HasErrors() {
		t.Fatalf("Configure: %v, %v", diags, err)
	}
	got, err := sdk.NewMonitorClient(cc).GetServerStats(t.Context(), stats("10.0.0.1", 28015))
	if err != nil || got.GetProviderServerId() != id || got.GetPlayers() != 7 {
		t.Fatalf("GetServerStats: %v, %v", got, err)
	}
}

// TestMonitorConformance runs the SDK's monitor suite against the fake.
func TestMonitorConformance(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	id := b.fake.Put(fakebattlemetrics.Server{Name: "A", Game: "rust", IP: "10.0.0.1", Port: 28015, Players: 4, MaxPlayers: 50, Rank: 9})
	now := time.Now()
	b.fake.AddSamples(id, fakebattlemetrics.Sample{At: now.Add(-3 * time.Hour), Players: 2}, fakebattlemetrics.Sample{At: now.Add(-time.Hour), Players: 4})
	conformance.Monitor(t, b.h, conformance.MonitorFixture{
		Known:        stats("10.0.0.1", 28015),
		Unknown:      stats("10.0.0.2", 28015),
		HistoryStart: now.Add(-24 * time.Hour), HistoryStop: now,
	})
}
