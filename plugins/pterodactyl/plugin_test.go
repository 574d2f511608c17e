package main

import (
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/internal/fault"
	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

type testBundle struct {
	fake *fakepterodactyl.Fake
	url  string
	h    *plugintest.Harness
	p    sdk.ProvisionerClient
}

func setup(t testing.TB, opts fakepterodactyl.Options) *testBundle {
	t.Helper()
	fake := fakepterodactyl.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	b := &testBundle{fake: fake, url: srv.URL}
	b.p = b.restarted(t)
	return b
}

// restarted starts another plugin on the same panel: a plugin process with
// none of the first one's in-memory outcomes, as after a restart.
func (b *testBundle) restarted(t testing.TB) sdk.ProvisionerClient {
	t.Helper()
	b.h = plugintest.New(t, New(), plugintest.WithRestart(func() sdk.Plugin { return New() }), plugintest.WithConfig(map[string]any{
		"api_url": b.url, "application_key": fakepterodactyl.DefaultApplicationKey,
		"client_key": fakepterodactyl.DefaultClientKey, "timeout": "5s",
	}))
	return b.h.Provisioner()
}

func service(id string) *pb.ServiceRef {
	return &pb.ServiceRef{ServiceId: id,
		PlanOptions: map[string]string{"egg_id": "1", "memory": "2048", "disk": "10240", "backups": "2", "env.VANILLA_VERSION": "1.21.1"},
		Customer:    &pb.Customer{AccountId: "42", Email: "alice@example.com", Name: "Alice Liddell"}}
}

// create makes a service and returns it with its external id.
func (b *testBundle) create(t *testing.T, id string) *pb.ServiceRef {
	t.Helper()
	r, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service(id), IdempotencyKey: "create-" + id})
	if err != nil {
		t.Fatal(err)
	}
	svc := service(id)
	svc.ExternalId = r.GetStatus().GetExternalId()
	return svc
}

func TestConformance(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	conformance.Provisioner(t, b.h, conformance.ProvisionerFixture{
		Service:        service("svc-1"),
		NewPlanOptions: map[string]string{"egg_id": "1", "memory": "4096", "disk": "20480", "backups": "2", "env.VANILLA_VERSION": "1.21.1"},
		Script:         "say hello\nsave-all",
	})
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})

	got := b.h.Description().GetCapabilities()
	slices.Sort(got)
	want := []string{string(sdk.CapActions), string(sdk.CapBackup), string(sdk.CapCapacity), string(sdk.CapChangePlan), string(sdk.CapListAccounts),
		string(sdk.CapPower), string(sdk.CapResetPassword), string(sdk.CapRunScript), string(sdk.CapUsage)}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("capabilities (-want +got):\n%s", diff)
	}
	_, err := b.p.LoginURL(t.Context(), &pb.LoginURLRequest{Service: service("x")})
	if !sdk.IsKind(err, sdk.NotSupported) {
		t.Errorf("LoginURL: %v, want NotSupported", err)
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	ctx := t.Context()

	var wg sync.WaitGroup
	ids := make([]string, 6)
	for i := range ids {
		wg.Go(func() {
			r, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k1"})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = r.GetStatus().GetExternalId()
		})
	}
	wg.Wait()
	r, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, r.GetStatus().GetExternalId())
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("different servers: %v", ids)
		}
	}
	if n := b.fake.Calls("POST /api/application/servers"); n != 1 {
		t.Errorf("POST /servers called %d times, want 1", n)
	}
	if n := b.fake.ServerCount(); n != 1 {
		t.Errorf("%d servers", n)
	}

	svc := service("svc-1")
	svc.ExternalId = ids[0]
	info, err := b.p.GetInfo(ctx, &pb.GetInfoRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	attrs := info.GetStatus().GetAttributes()
	if info.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_ACTIVE || attrs["address"] != "203.0.113.10:25565" || attrs["memory_mb"] != "2048" {
		t.Errorf("GetInfo: %v", info.GetStatus())
	}
	s, _, _ := b.fake.ServerSnapshot(mustID(t, ids[0]))
	want := map[string]any{"SERVER_JARFILE": "server.jar", "VANILLA_VERSION": "1.21.1"}
	for k, v := range want {
		if s.Container.Environment[k] != v {
			t.Errorf("environment %s = %v, want %v", k, s.Container.Environment[k], v)
		}
	}
	if s.Container.Image != "ghcr.io/pterodactyl/yolks:java_17" || s.ExternalID == nil || *s.ExternalID != "ezscale-svc-1" {
		t.Errorf("server: image %q, external id %v", s.Container.Image, s.ExternalID)
	}
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	n, err := serverID(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	ctx := t.Context()
	svc := b.create(t, "svc-1")

	type result struct {
		Kind       sdk.ErrorKind
		RetryAfter time.Duration
	}
	for _, tt := range []struct {
		status int
		ra     time.Duration
		want   result
	}{
		{401, 0, result{sdk.Unauthenticated, 0}},
		{403, 0, result{sdk.Unauthenticated, 0}},
		{404, 0, result{sdk.NotFound, 0}},
		{409, 0, result{sdk.Conflict, 0}},
		{422, 0, result{sdk.InvalidInput, 0}},
		{423, 0, result{sdk.Conflict, 0}},
		{429, 11 * time.Second, result{sdk.Unavailable, 11 * time.Second}},
		{500, 0, result{sdk.Unavailable, 0}},
		{502, 0, result{sdk.Unavailable, 0}},
	} {
		b.fake.FailNext("GET /api/application/servers/{id}", fault.Failure{Status: tt.status, RetryAfter: tt.ra})
		_, err := b.p.GetInfo(ctx, &pb.GetInfoRequest{Service: svc})
		if diff := cmp.Diff(tt.want, result{sdk.KindOf(err), sdk.RetryAfterOf(err)}); diff != "" {
			t.Errorf("HTTP %d: %v (-want +got):\n%s", tt.status, err, diff)
		}
	}

	// A suspended server refuses power signals: 409 → Conflict.
	if _, err := b.p.Suspend(ctx, &pb.SuspendRequest{Service: svc, IdempotencyKey: "s"}); err != nil {
		t.Fatal(err)
	}
	_, err := b.p.Power(ctx, &pb.PowerRequest{Service: svc, IdempotencyKey: "p", Action: pb.PowerAction_POWER_ACTION_BOOT})
	if !sdk.IsKind(err, sdk.Conflict) {
		t.Errorf("Power while suspended: %v", err)
	}
	if _, err := b.p.Unsuspend(ctx, &pb.UnsuspendRequest{Service: svc, IdempotencyKey: "u"}); err != nil {
		t.Fatal(err)
	}
	// Unsuspended servers stay stopped: console commands need it running.
	_, err = b.p.RunScript(ctx, &pb.RunScriptRequest{Service: svc, IdempotencyKey: "r", Script: "say hi"})
	if !sdk.IsKind(err, sdk.Conflict) {
		t.Errorf("RunScript on a stopped server: %v", err)
	}
	if _, err := b.p.Power(ctx, &pb.PowerRequest{Service: svc, IdempotencyKey: "p2", Action: pb.PowerAction_POWER_ACTION_BOOT}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.p.RunScript(ctx, &pb.RunScriptRequest{Service: svc, IdempotencyKey: "r2", Script: "say hi\n\nstop"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"say hi", "stop"}, b.fake.Commands(mustID(t, svc.ExternalId))); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	// The same key does not type the commands twice.
	if _, err := b.p.RunScript(ctx, &pb.RunScriptRequest{Service: svc, IdempotencyKey: "r2", Script: "say hi\n\nstop"}); err != nil {
		t.Fatal(err)
	}
	if n := len(b.fake.Commands(mustID(t, svc.ExternalId))); n != 2 {
		t.Errorf("%d commands after a repeat, want 2", n)
	}
}

func TestRateLimitIsUnavailable(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{ApplicationRateLimit: 1})
	_, _ = b.p.TestConnection(t.Context(), &pb.TestConnectionRequest{})
	_, err := b.p.TestConnection(t.Context(), &pb.TestConnectionRequest{})
	if !sdk.IsKind(err, sdk.Unavailable) || sdk.RetryAfterOf(err) <= 0 {
		t.Fatalf("rate limited: %v (retry after %v)", err, sdk.RetryAfterOf(err))
	}
}

func TestInstallingIsPending(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{InstallDuration: time.Hour})
	r, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if r.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_PENDING {
		t.Errorf("state %s, want PENDING while installing", r.GetStatus().GetState())
	}
	svc := service("svc-1")
	svc.ExternalId = r.GetStatus().GetExternalId()
	_, err = b.p.Power(t.Context(), &pb.PowerRequest{Service: svc, IdempotencyKey: "p", Action: pb.PowerAction_POWER_ACTION_BOOT})
	if !sdk.IsKind(err, sdk.Conflict) {
		t.Errorf("Power while installing: %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})

	svc := service("svc-1")
	svc.PlanOptions = map[string]string{"egg_id": "9", "location_id": "7"}
	r, err := b.p.Validate(t.Context(), &pb.ValidateRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, d := range sdk.DiagnosticsFromProto(r.GetDiagnostics()) {
		fields = append(fields, d.Field)
	}
	if diff := cmp.Diff([]string{"plan_options.egg_id", "plan_options.location_id"}, fields); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	svc.PlanOptions = map[string]string{"egg_id": "2", "env.BUILD_NUMBER": "", "io": "5"}
	r, _ = b.p.Validate(t.Context(), &pb.ValidateRequest{Service: svc})
	if ds := sdk.DiagnosticsFromProto(r.GetDiagnostics()); len(ds) != 1 || ds[0].Field != "plan_options.io" {
		t.Errorf("io out of range: %v", ds)
	}
}

func TestTerminateAndUsage(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	ctx := t.Context()
	svc := b.create(t, "svc-1")

	b.fake.SetStats(mustID(t, svc.ExternalId), pt.Stats{Resources: struct {
		MemoryBytes    int64   `json:"memory_bytes"`
		CPUAbsolute    float64 `json:"cpu_absolute"`
		DiskBytes      int64   `json:"disk_bytes"`
		NetworkRxBytes int64   `json:"network_rx_bytes"`
		NetworkTxBytes int64   `json:"network_tx_bytes"`
		Uptime         int64   `json:"uptime"`
	}{MemoryBytes: 600 << 20, CPUAbsolute: 12.5, DiskBytes: 1 << 30, NetworkRxBytes: 1000, NetworkTxBytes: 500}})
	u, err := b.p.Usage(ctx, &pb.UsageRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	type usage struct {
		CPU                                     float64
		RAM, RAMTotal, Disk, DiskTotal, In, Out int64
	}
	got := usage{u.GetCpuPercent(), u.GetRamUsedBytes(), u.GetRamTotalBytes(), u.GetDiskUsedBytes(), u.GetDiskTotalBytes(), u.GetBandwidthInBytes(), u.GetBandwidthOutBytes()}
	if diff := cmp.Diff(usage{12.5, 600 << 20, 2048 << 20, 1 << 30, 10240 << 20, 1000, 500}, got); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}

	// Terminate without an external id (the Create answer was lost) finds
	// the server by the service's external id.
	lost := service("svc-1")
	if _, err := b.p.Terminate(ctx, &pb.TerminateRequest{Service: lost, IdempotencyKey: "t"}); err != nil {
		t.Fatal(err)
	}
	if n := b.fake.ServerCount(); n != 0 {
		t.Fatalf("%d servers left", n)
	}
	if _, err := b.p.Terminate(ctx, &pb.TerminateRequest{Service: svc, IdempotencyKey: "t2"}); err != nil {
		t.Errorf("second Terminate: %v", err)
	}
	if _, err := b.p.GetInfo(ctx, &pb.GetInfoRequest{Service: svc}); !sdk.IsKind(err, sdk.NotFound) {
		t.Errorf("GetInfo after Terminate: %v", err)
	}
}

func TestResetPasswordAndCapacity(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	ctx := t.Context()
	svc := b.create(t, "svc-1")

	r, err := b.p.ResetPassword(ctx, &pb.ResetPasswordRequest{Service: svc, IdempotencyKey: "pw"})
	if err != nil || len(r.GetPassword()) < 16 {
		t.Fatalf("ResetPassword: %v, %v", r, err)
	}
	again, err := b.p.ResetPassword(ctx, &pb.ResetPasswordRequest{Service: svc, IdempotencyKey: "pw"})
	if err != nil || again.GetPassword() != r.GetPassword() {
		t.Errorf("repeat with the same key changed the password: %v", err)
	}
	c, err := b.p.Capacity(ctx, &pb.CapacityRequest{})
	if err != nil {
		t.Fatal(err)
	}
	type node struct {
		ID       string
		Slots    int64
		RAMUsed  int64
		RAMTotal int64
	}
	var got []node
	for _, n := range c.GetNodes() {
		got = append(got, node{n.GetNodeId(), n.GetFreeSlots(), n.GetRamUsedBytes(), n.GetRamTotalBytes()})
	}
	want := []node{{"1", 19, 2048 << 20, 32768 << 20}, {"2", 10, 0, 16384 << 20}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("capacity (-want +got):\n%s", diff)
	}
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	if got := username("Alice.Liddell+games@Example.com", "42"); got[:19] != "alice.liddellgames_" || len(got) != 25 {
		t.Errorf("username = %q", got)
	}
	if username("a@x", "1") == username("a@y", "2") {
		t.Error("usernames of different accounts collide")
	}
	if f, l := splitName("Cher", "Customer"); f != "Cher" || l != "-" {
		t.Errorf("splitName = %q %q", f, l)
	}
}
