package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/internal/fault"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

const (
	createRoute      = "POST /api/v1/servers"
	userServersRoute = "GET /api/v1/servers/user/{id}"
)

// built is what a test reads of the fake after a Create: every server's
// name and state, by id.
func (b *testBundle) built(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id := int64(1); id <= int64(b.fake.Calls(createRoute))+1; id++ {
		if s, _, ok := b.fake.ServerSnapshot(id); ok {
			out[strconv.FormatInt(id, 10)] = s.Name + " " + s.State
		}
	}
	return out
}

// TestLostCreateAnswerIsAdopted: the panel creates the server but the answer
// to POST /servers is lost. The plugin finds the unnamed server it left and
// adopts it (names and builds it) instead of creating a second one.
func TestLostCreateAnswerIsAdopted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	b.fake.LoseNext(createRoute, 1)
	r, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k1"})
	if err != nil {
		// However the first attempt ends, a retry must not create another.
		if !sdk.IsKind(err, sdk.Unavailable) {
			t.Fatalf("Create with a lost answer: %v, want success or Unavailable", err)
		}
		if r, err = b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k1"}); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(map[string]string{"1": "ezscale-svc-1 queued"}, b.built(t)); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	if r.GetStatus().GetExternalId() != "1" || b.fake.Calls(createRoute) != 1 {
		t.Errorf("external id %q after %d creates", r.GetStatus().GetExternalId(), b.fake.Calls(createRoute))
	}
}

// TestLostCreateAnswerAdoptedOnRetry: the answer is lost and the plugin
// cannot look at once (the listing fails too): the attempt fails as
// Unavailable, and the next attempt (a new key, as the core's retry) adopts
// the orphan rather than creating a second server.
func TestLostCreateAnswerAdoptedOnRetry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	b.fake.LoseNext(createRoute, 1)
	b.fake.FailNext(userServersRoute, fault.Failure{Status: 503, Skip: 1})
	_, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k1"})
	if !sdk.IsKind(err, sdk.Unavailable) {
		t.Fatalf("Create with a lost answer and no listing: %v, want Unavailable", err)
	}
	if diff := cmp.Diff(map[string]string{"1": " allocated"}, b.built(t)); diff != "" {
		t.Fatalf("the orphan (-want +got):\n%s", diff)
	}
	r, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"1": "ezscale-svc-1 queued"}, b.built(t)); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	if r.GetStatus().GetExternalId() != "1" || b.fake.Calls(createRoute) != 1 {
		t.Errorf("external id %q after %d creates", r.GetStatus().GetExternalId(), b.fake.Calls(createRoute))
	}
}

// TestOrphanOfAnotherPlanIsNotAdopted: an unnamed server in the window that
// was not made from this service's plan (another package) stays where it
// is; the service gets a server of its own plan.
func TestOrphanOfAnotherPlanIsNotAdopted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	// svc-2's create (package 2) loses its answer and cannot look.
	other := service("svc-2")
	other.PlanOptions["package_id"] = "2"
	b.fake.LoseNext(createRoute, 1)
	b.fake.FailNext(userServersRoute, fault.Failure{Status: 503, Skip: 1})
	if _, err := b.p.Create(ctx, &pb.CreateRequest{Service: other, IdempotencyKey: "o1"}); err == nil {
		t.Fatal("Create with a lost answer succeeded without looking")
	}
	// svc-1 (package 1) loses its answer too: its window holds svc-2's
	// orphan and its own.
	b.fake.LoseNext(createRoute, 1)
	b.fake.FailNext(userServersRoute, fault.Failure{Status: 503, Skip: 1})
	if _, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k1"}); err == nil {
		t.Fatal("Create with a lost answer succeeded without looking")
	}
	if _, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.p.Create(ctx, &pb.CreateRequest{Service: other, IdempotencyKey: "o2"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"1": "ezscale-svc-2 queued", "2": "ezscale-svc-1 queued"}
	if diff := cmp.Diff(want, b.built(t)); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	for id, pkgMemory := range map[int64]int64{1: 2048, 2: 1024} {
		if s, _, _ := b.fake.ServerSnapshot(id); s.Settings.Resources.Memory != pkgMemory {
			t.Errorf("server %d has %d MB, want %d", id, s.Settings.Resources.Memory, pkgMemory)
		}
	}
}

// TestTerminateDeletesTheOrphan: a service whose create never answered and
// never succeeded is terminated: its orphan is deleted, not left holding an
// IP.
func TestTerminateDeletesTheOrphan(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	b.fake.LoseNext(createRoute, 1)
	b.fake.FailNext(userServersRoute, fault.Failure{Status: 503, Skip: 1})
	if _, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k1"}); err == nil {
		t.Fatal("Create with a lost answer succeeded without looking")
	}
	r, err := b.p.Terminate(ctx, &pb.TerminateRequest{Service: service("svc-1"), IdempotencyKey: "t"})
	if err != nil || r.GetStatus().GetExternalId() != "1" {
		t.Fatalf("Terminate: %v, %v", r, err)
	}
	if n := b.fake.ServerCount(); n != 0 {
		t.Errorf("%d servers left", n)
	}
}

// TestCreateFindsItsServerPastThePage: the customer's servers are listed
// 20 per page; a repeated Create of a service whose server is on the second
// page finds it instead of creating a duplicate, and Terminate without an
// external id finds it there too.
func TestCreateFindsItsServerPastThePage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	var last *pb.CreateResponse
	for i := range 21 {
		r, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-" + strconv.Itoa(i)), IdempotencyKey: "k" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		last = r
	}
	again, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-20"), IdempotencyKey: "another key"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := again.GetStatus().GetExternalId(), last.GetStatus().GetExternalId(); got != want || b.fake.ServerCount() != 21 {
		t.Fatalf("repeated Create: server %s (want %s), %d servers (want 21)", got, want, b.fake.ServerCount())
	}
	if _, err := b.p.Terminate(ctx, &pb.TerminateRequest{Service: service("svc-20"), IdempotencyKey: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := b.fake.ServerSnapshot(mustInt(t, last.GetStatus().GetExternalId())); ok || b.fake.ServerCount() != 20 {
		t.Errorf("Terminate without an external id left the server on page 2 (%d servers)", b.fake.ServerCount())
	}
}

// TestLoginURLIsOnThePanel: VirtFusion answers endpoint_complete as a path;
// the link is the panel's origin (not the API root) followed by it.
func TestLoginURLIsOnThePanel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	svc := service("svc-1")
	svc.ExternalId = r.GetStatus().GetExternalId()
	l, err := b.p.LoginURL(t.Context(), &pb.LoginURLRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	s, _, _ := b.fake.ServerSnapshot(mustInt(t, svc.ExternalId))
	if want := b.origin + "/authenticate/server/" + s.UUID + "?token1="; !strings.HasPrefix(l.GetUrl(), want) {
		t.Errorf("login URL %q, want it to start with %q", l.GetUrl(), want)
	}
}

// TestUsageReadsMemoryWhenRunning: the live memory is read when
// remoteState.state is "running", the only running flag VirtFusion sends.
func TestUsageReadsMemoryWhenRunning(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	svc := service("svc-1")
	svc.ExternalId = r.GetStatus().GetExternalId()
	if err := b.fake.SetUsage(mustInt(t, svc.ExternalId), 0, 0, 10, 700, 1); err != nil {
		t.Fatal(err)
	}
	u, err := b.p.Usage(t.Context(), &pb.UsageRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	if u.GetRamUsedBytes() != 700<<20 {
		t.Errorf("RAM used %d, want %d", u.GetRamUsedBytes(), 700<<20)
	}
}
