package main

import (
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/ezscale/platform/plugins/internal/fault"
	"github.com/ezscale/platform/plugins/virtfusion/fakevirtfusion"
	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

type testBundle struct {
	fake *fakevirtfusion.Fake
	h    *plugintest.Harness
	p    sdk.ProvisionerClient
	// origin is the fake panel's scheme and host.
	origin string
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	fake := fakevirtfusion.New(fakevirtfusion.Options{Token: "tok"})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	h := plugintest.New(t, New(), plugintest.WithConfig(map[string]any{
		"api_url": srv.URL + fakevirtfusion.BasePath, "api_token": "tok", "timeout": "5s",
	}))
	return &testBundle{fake: fake, h: h, p: h.Provisioner(), origin: srv.URL}
}

func service(id string) *pb.ServiceRef {
	return &pb.ServiceRef{ServiceId: id, PlanOptions: map[string]string{"package_id": "1", "hostname": id + ".example.com"},
		Customer: &pb.Customer{AccountId: "42", Email: "jon@doe.example", Name: "Jon Doe"}}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conformance.Provisioner(t, b.h, conformance.ProvisionerFixture{
		Service:        service("svc-1"),
		NewPlanOptions: map[string]string{"package_id": "2"},
	})
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	b := setup(t)

	got := b.h.Description().GetCapabilities()
	slices.Sort(got)
	want := []string{
		string(sdk.CapActions), string(sdk.CapCapacity), string(sdk.CapChangePlan), string(sdk.CapListAccounts),
		string(sdk.CapLoginURL), string(sdk.CapPower), string(sdk.CapResetPassword), string(sdk.CapUsage),
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("capabilities (-want +got):\n%s", diff)
	}
	// VirtFusion's API has no snapshot endpoint.
	_, err := b.p.Snapshot(t.Context(), &pb.SnapshotRequest{Service: service("x"), IdempotencyKey: "k"})
	if !sdk.IsKind(err, sdk.NotSupported) {
		t.Errorf("Snapshot: %v, want NotSupported", err)
	}
}

func TestCreateIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	// Concurrent calls with one key share one execution.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			r, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "key-1"})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = r.GetStatus().GetExternalId()
		})
	}
	wg.Wait()
	// A new key for the same service (the plugin restarted, or the core
	// lost the answer) finds the server by name instead of creating another.
	again, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "key-2"})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, again.GetStatus().GetExternalId())
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("different servers: %v", ids)
		}
	}
	if n := b.fake.ServerCount(); n != 1 {
		t.Errorf("%d servers, want 1", n)
	}
	if n := b.fake.Calls("POST /api/v1/servers"); n != 1 {
		t.Errorf("POST /servers called %d times, want 1", n)
	}
	if n := b.fake.UserCount(); n != 1 {
		t.Errorf("%d users, want 1 (found by extRelationId)", n)
	}
	// A second service of the same customer gets its own server, same user.
	if _, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-2"), IdempotencyKey: "key-3"}); err != nil {
		t.Fatal(err)
	}
	if b.fake.ServerCount() != 2 || b.fake.UserCount() != 1 {
		t.Errorf("servers %d, users %d; want 2, 1", b.fake.ServerCount(), b.fake.UserCount())
	}
}

func TestCreateFinishesAnUnbuiltServer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	b.fake.FailNext("POST /api/v1/servers/{id}/build", fault.Failure{Status: 503, RetryAfter: 5 * time.Second})
	_, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k1"})
	if !sdk.IsKind(err, sdk.Unavailable) || sdk.RetryAfterOf(err) != 5*time.Second {
		t.Fatalf("Create with a failing build: %v", err)
	}
	// The failure is not kept: the same key retries and finishes the build
	// of the server created the first time.
	r, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_ACTIVE || b.fake.ServerCount() != 1 {
		t.Fatalf("state %s with %d servers", r.GetStatus().GetState(), b.fake.ServerCount())
	}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()

	type result struct {
		Kind       sdk.ErrorKind
		RetryAfter time.Duration
	}
	tests := []struct {
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
		{429, 9 * time.Second, result{sdk.Unavailable, 9 * time.Second}},
		{500, 0, result{sdk.Unavailable, 0}},
		{503, 3 * time.Second, result{sdk.Unavailable, 3 * time.Second}},
	}
	b := setup(t)
	created, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	svc := service("svc-1")
	svc.ExternalId = created.GetStatus().GetExternalId()
	for _, tt := range tests {
		b.fake.FailNext("GET /api/v1/servers/{id}", fault.Failure{Status: tt.status, RetryAfter: tt.ra})
		_, err := b.p.GetInfo(t.Context(), &pb.GetInfoRequest{Service: svc})
		if diff := cmp.Diff(tt.want, result{sdk.KindOf(err), sdk.RetryAfterOf(err)}); diff != "" {
			t.Errorf("HTTP %d: %v (-want +got):\n%s", tt.status, err, diff)
		}
	}
	// A locked server refuses suspension with a Conflict.
	b.fake.LockServer(mustInt(t, svc.ExternalId), true)
	_, err = b.p.Suspend(t.Context(), &pb.SuspendRequest{Service: svc, IdempotencyKey: "s"})
	if !sdk.IsKind(err, sdk.Conflict) {
		t.Errorf("Suspend of a locked server: %v", err)
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := serverID(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTerminate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	// A Create that failed after creating the server: Terminate without an
	// external id still finds and deletes it by name.
	b.fake.FailNext("POST /api/v1/servers/{id}/build", fault.Failure{Status: 500})
	if _, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"}); err == nil {
		t.Fatal("Create succeeded")
	}
	r, err := b.p.Terminate(ctx, &pb.TerminateRequest{Service: service("svc-1"), IdempotencyKey: "t"})
	if err != nil || r.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_TERMINATED {
		t.Fatalf("Terminate: %v, %v", r, err)
	}
	if n := b.fake.ServerCount(); n != 0 {
		t.Errorf("%d servers left", n)
	}
	svc := service("svc-1")
	svc.ExternalId = "12345"
	if _, err := b.p.Terminate(ctx, &pb.TerminateRequest{Service: svc, IdempotencyKey: "t2"}); err != nil {
		t.Errorf("Terminate of a server VirtFusion does not know: %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	b := setup(t)

	svc := service("svc-1")
	svc.PlanOptions = map[string]string{"package_id": "4", "hypervisor_group_id": "9"}
	svc.Customer.Email = ""
	r, err := b.p.Validate(t.Context(), &pb.ValidateRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, d := range sdk.DiagnosticsFromProto(r.GetDiagnostics()) {
		fields = append(fields, d.Field)
	}
	want := []string{"service.customer.email", "plan_options.package_id", "plan_options.hypervisor_group_id"}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	svc.PlanOptions = map[string]string{"package_id": "abc"}
	r, _ = b.p.Validate(t.Context(), &pb.ValidateRequest{Service: svc})
	if ds := sdk.DiagnosticsFromProto(r.GetDiagnostics()); len(ds) == 0 || ds[len(ds)-1].Field != "plan_options.package_id" {
		t.Errorf("non-numeric package: %v", ds)
	}
}

func TestUsageAndCapacity(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	created, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	svc := service("svc-1")
	svc.ExternalId = created.GetStatus().GetExternalId()
	if err := b.fake.SetUsage(mustInt(t, svc.ExternalId), 1<<30, 2<<30, 25, 512, 3); err != nil {
		t.Fatal(err)
	}
	u, err := b.p.Usage(ctx, &pb.UsageRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.UsageResponse{CpuPercent: 25, RamUsedBytes: 512 << 20, RamTotalBytes: 1024 << 20, DiskUsedBytes: 3 << 30,
		DiskTotalBytes: 10 << 30, BandwidthInBytes: 1 << 30, BandwidthOutBytes: 2 << 30, BandwidthLimitBytes: 200 << 30}
	if diff := cmp.Diff(want, u, protocmp.Transform(), protocmp.IgnoreFields(&pb.UsageResponse{}, "sampled_at")); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}

	c, err := b.p.Capacity(ctx, &pb.CapacityRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	for _, n := range c.GetNodes() {
		used += n.GetRamUsedBytes()
	}
	if len(c.GetNodes()) != 3 || used != 1024<<20 {
		t.Errorf("capacity: %d nodes, %d bytes used", len(c.GetNodes()), used)
	}

	if _, err := b.fake.AddBackup(mustInt(t, svc.ExternalId)); err != nil {
		t.Fatal(err)
	}
	res, err := b.p.InvokeAction(ctx, &pb.InvokeActionRequest{Service: svc, IdempotencyKey: "a", ActionId: actionListBackups})
	if err != nil || len(res.GetResult().GetFields()["backups"].GetListValue().GetValues()) != 1 {
		t.Fatalf("list_backups: %v, %v", res, err)
	}
	_, err = b.p.InvokeAction(ctx, &pb.InvokeActionRequest{Service: svc, IdempotencyKey: "b", ActionId: actionSetBackupPlan})
	if !sdk.IsKind(err, sdk.InvalidInput) {
		t.Errorf("set_backup_plan without plan_id: %v", err)
	}
}

func TestNotConfigured(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, New(), plugintest.WithoutConfigure())
	// The SDK answers for the process until Configure: it serves.
	if msg, err := h.Plugin().HealthMessage(t.Context()); err != nil || msg != sdk.NotConfiguredHealth {
		t.Errorf("Health of an unconfigured plugin: %q, %v; want %q", msg, err, sdk.NotConfiguredHealth)
	}
	_, err := h.Provisioner().GetInfo(t.Context(), &pb.GetInfoRequest{Service: service("x")})
	if !sdk.IsKind(err, sdk.Unavailable) {
		t.Errorf("GetInfo before Configure: %v", err)
	}
	diags, err := h.Plugin().ValidateConfig(t.Context(), map[string]any{"api_url": "ftp://x", "api_token": "t"})
	if err != nil || len(diags) != 1 || diags[0].Field != "api_url" {
		t.Errorf("ValidateConfig: %v, %v", diags, err)
	}
}

func TestExtRelationID(t *testing.T) {
	t.Parallel()
	if n, _ := extRelationID("42"); n != 42 {
		t.Errorf("numeric id: %d", n)
	}
	a, _ := extRelationID("acct_7f3a")
	b, _ := extRelationID("acct_7f3b")
	if a == b || a < 1<<52 || a >= 1<<53 {
		t.Errorf("hashed ids %d, %d", a, b)
	}
	if _, err := extRelationID(""); !sdk.IsKind(err, sdk.InvalidInput) {
		t.Errorf("empty id: %v", err)
	}
}
