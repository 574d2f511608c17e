package main

import (
	"net/http/httptest"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/ezscale/platform/plugins/gametracker/fakegametracker"
	"github.com/ezscale/platform/plugins/internal/fault"
	"github.com/ezscale/platform/plugins/internal/processtest"
	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

func TestMain(m *testing.M) {
	processtest.ServeIfChild(func() sdk.Plugin { return New() })
	os.Exit(m.Run())
}

type testBundle struct {
	fake *fakegametracker.Fake
	url  string
	h    *plugintest.Harness
}

func setup(t *testing.T, overrides map[string]any) *testBundle {
	t.Helper()
	fake := fakegametracker.New()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	fake.Put(fakegametracker.Server{Host: "10.0.0.1", Port: 28015, Name: "Moose", Game: "rust", Alive: true,
		Players: 12, MaxPlayers: 100, Map: "Procedural Map", Rank: 321})
	cfg := map[string]any{"page_url": srv.URL, "banner_url": srv.URL}
	for k, v := range overrides {
		cfg[k] = v
	}
	return &testBundle{fake: fake, url: srv.URL, h: plugintest.New(t, New(), plugintest.WithConfig(cfg))}
}

var moose = &pb.GetServerStatsRequest{Address: "10.0.0.1", Port: 28015}

func ignoreTime() cmp.Option {
	return protocmp.IgnoreFields(&pb.GetServerStatsResponse{}, "updated_at")
}

// TestReadsTheServerPage: numbers from the page, and the page and banner
// links.
func TestReadsTheServerPage(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	got, err := b.h.Monitor().GetServerStats(t.Context(), moose)
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.GetServerStatsResponse{ProviderServerId: "10.0.0.1:28015", Name: "Moose", Status: "online", Players: 12, MaxPlayers: 100,
		Map: "Procedural Map", Rank: 321, ListingUrl: b.url + "/server_info/10.0.0.1:28015/",
		BannerUrl: b.url + "/server_info/10.0.0.1:28015/b_560_95_1.png"}
	if diff := cmp.Diff(want, got, protocmp.Transform(), ignoreTime()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestFailsSoft: a failed fetch or a page of another layout gives the last
// good numbers flagged stale, and a server never read gives only the links,
// stale; none of it is an error.
func TestFailsSoft(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	good, err := b.h.Monitor().GetServerStats(t.Context(), moose)
	if err != nil {
		t.Fatal(err)
	}
	wantStale := proto.Clone(good).(*pb.GetServerStatsResponse)
	wantStale.Stale = true

	b.fake.FailNext("GET /server_info/{addr}/", fault.Failure{Status: 503})
	got, err := b.h.Monitor().GetServerStats(t.Context(), moose)
	if err != nil {
		t.Fatalf("503: %v, want stale data", err)
	}
	if diff := cmp.Diff(wantStale, got, protocmp.Transform()); diff != "" {
		t.Errorf("503 (-want +got):\n%s", diff)
	}
	b.fake.Redesign("10.0.0.1:28015")
	got, err = b.h.Monitor().GetServerStats(t.Context(), moose)
	if err != nil {
		t.Fatalf("redesigned page: %v, want stale data", err)
	}
	if diff := cmp.Diff(wantStale, got, protocmp.Transform()); diff != "" {
		t.Errorf("redesigned (-want +got):\n%s", diff)
	}

	b.fake.Put(fakegametracker.Server{Host: "10.0.0.2", Port: 27015, Name: "new"})
	b.fake.Redesign("10.0.0.2:27015")
	got, err = b.h.Monitor().GetServerStats(t.Context(), &pb.GetServerStatsRequest{Address: "10.0.0.2", Port: 27015})
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.GetServerStatsResponse{ProviderServerId: "10.0.0.2:27015", Status: "unknown", Stale: true,
		ListingUrl: b.url + "/server_info/10.0.0.2:27015/", BannerUrl: b.url + "/server_info/10.0.0.2:27015/b_560_95_1.png"}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("never read (-want +got):\n%s", diff)
	}
}

// TestUnlistedServerIsNotFound: GameTracker's 404 (the server was never
// added there) is NotFound.
func TestUnlistedServerIsNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	_, err := b.h.Monitor().GetServerStats(t.Context(), &pb.GetServerStatsRequest{Address: "10.9.9.9", Port: 1})
	if sdk.KindOf(err) != sdk.NotFound {
		t.Errorf("unlisted: %v, want NotFound", err)
	}
}

// TestLinksOnly: with read_page off the page is never fetched.
func TestLinksOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]any{"read_page": false, "banner": "b_350_20_692108_381007_FFFFFF_000000.png"})
	got, err := b.h.Monitor().GetServerStats(t.Context(), moose)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetBannerUrl() != b.url+"/server_info/10.0.0.1:28015/b_350_20_692108_381007_FFFFFF_000000.png" || !got.GetStale() {
		t.Errorf("links only: %v", got)
	}
	if n := b.fake.Calls(fault.Any); n != 0 {
		t.Errorf("%d page reads, want 0", n)
	}
}

// TestRealProcess runs the plugin as a child process over go-plugin.
func TestRealProcess(t *testing.T) {
	t.Parallel()
	fake := fakegametracker.New()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	fake.Put(fakegametracker.Server{Host: "10.0.0.1", Port: 28015, Name: "Moose", Alive: true, Players: 3, MaxPlayers: 10})
	cc := processtest.Start(t)
	diags, err := sdk.NewPluginClient(cc).Configure(t.Context(), map[string]any{"page_url": srv.URL})
	if err != nil || diags.HasErrors() {
		t.Fatalf("Configure: %v, %v", diags, err)
	}
	got, err := sdk.NewMonitorClient(cc).GetServerStats(t.Context(), moose)
	if err != nil || got.GetPlayers() != 3 || got.GetStatus() != "online" {
		t.Fatalf("GetServerStats: %v, %v", got, err)
	}
}

// TestMonitorConformance runs the SDK's monitor suite against the fake.
func TestMonitorConformance(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	conformance.Monitor(t, b.h, conformance.MonitorFixture{
		Known:   moose,
		Unknown: &pb.GetServerStatsRequest{Address: "10.9.9.9", Port: 27015},
	})
}
