package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/kasm/fakekasm"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

func (b *testBundle) calls(names ...string) map[string]int {
	out := map[string]int{}
	for _, n := range names {
		out[n] = b.fake.Calls("POST /api/public/" + n)
	}
	return out
}

// TestCreateNewWorkspace: a new service's user is unknown to Kasm, and
// get_user answers that with an error (400 "Invalid Request"), not an empty
// user; Create takes it as "not found", creates the user and starts a
// session.
func TestCreateNewWorkspace(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	r, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"})
	if err != nil {
		t.Fatalf("Create of a new workspace: %v", err)
	}
	if _, ok := b.fake.User(r.GetStatus().GetExternalId()); !ok || b.fake.SessionCount() != 1 {
		t.Errorf("user %s exists: %v, %d sessions", r.GetStatus().GetExternalId(), ok, b.fake.SessionCount())
	}
	want := map[string]int{"get_user": 1, "create_user": 1, "request_kasm": 1}
	if diff := cmp.Diff(want, b.calls("get_user", "create_user", "request_kasm")); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// TestStartingSessionIsPending: while a session starts, get_kasm_status
// carries error_message "This session is currently starting." beside
// operational_status "starting". That is pending, not a failure: Create
// answers PENDING, a retry finds the session instead of starting another
// (nothing leaks), and LoginURL is Unavailable with a retry-after.
func TestStartingSessionIsPending(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{StartDuration: time.Hour})
	ctx := t.Context()

	r, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k1"})
	if err != nil {
		t.Fatalf("Create while the session starts: %v", err)
	}
	again, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	svc := service("svc-1")
	svc.ExternalId = r.GetStatus().GetExternalId()
	info, err := b.p.GetInfo(ctx, &pb.GetInfoRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	_, loginErr := b.p.LoginURL(ctx, &pb.LoginURLRequest{Service: svc})
	type result struct {
		Create, Again, Info pb.ServiceState
		SameUser            bool
		Sessions, Requests  int
		Login               sdk.ErrorKind
		RetryAfter          time.Duration
	}
	got := result{r.GetStatus().GetState(), again.GetStatus().GetState(), info.GetStatus().GetState(),
		again.GetStatus().GetExternalId() == svc.ExternalId, b.fake.SessionCount(), b.fake.Calls("POST /api/public/request_kasm"),
		sdk.KindOf(loginErr), sdk.RetryAfterOf(loginErr)}
	pending := pb.ServiceState_SERVICE_STATE_PENDING
	if diff := cmp.Diff(result{pending, pending, pending, true, 1, 1, sdk.Unavailable, startingRetry}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestLoginURLStartsASessionAndWaits: with no session (after an
// unsuspension) LoginURL starts one and, while it starts, answers
// Unavailable with a retry-after; asking again does not start another.
func TestLoginURLStartsASessionAndWaits(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{StartDuration: time.Hour})
	ctx := t.Context()
	svc := b.create(t, "svc-1")
	if _, err := b.p.Suspend(ctx, &pb.SuspendRequest{Service: svc, IdempotencyKey: "s"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.p.Unsuspend(ctx, &pb.UnsuspendRequest{Service: svc, IdempotencyKey: "u"}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_, err := b.p.LoginURL(ctx, &pb.LoginURLRequest{Service: svc})
		if !sdk.IsKind(err, sdk.Unavailable) || sdk.RetryAfterOf(err) != startingRetry {
			t.Errorf("LoginURL %d while the session starts: %v", i+1, err)
		}
	}
	if n, k := b.fake.SessionCount(), b.fake.Calls("POST /api/public/request_kasm"); n != 1 || k != 2 {
		t.Errorf("%d sessions after %d request_kasm calls, want 1 after 2 (Create's and the first login's)", n, k)
	}
}

// TestTerminateIsIdempotent: a second Terminate meets delete_user's
// "Unknown user (<id>)" (HTTP 400) and succeeds: the user is already gone.
func TestTerminateIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	ctx := t.Context()
	svc := b.create(t, "svc-1")
	for _, key := range []string{"t1", "t2"} {
		r, err := b.p.Terminate(ctx, &pb.TerminateRequest{Service: svc, IdempotencyKey: key})
		if err != nil || r.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_TERMINATED {
			t.Fatalf("Terminate %s: %v, %v", key, r, err)
		}
	}
	if _, ok := b.fake.User(svc.ExternalId); ok || b.fake.SessionCount() != 0 {
		t.Errorf("after Terminate: user left %v, %d sessions", ok, b.fake.SessionCount())
	}
	if _, err := b.p.GetInfo(ctx, &pb.GetInfoRequest{Service: svc}); !sdk.IsKind(err, sdk.NotFound) {
		t.Errorf("GetInfo after Terminate: %v, want NotFound", err)
	}
}

// TestSuspendThroughUpdateUser: suspension disables the Kasm user through
// update_user (which refuses a change without the username) and ends its
// sessions; unsuspension enables it again.
func TestSuspendThroughUpdateUser(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	ctx := t.Context()
	svc := b.create(t, "svc-1")

	if _, err := b.p.Suspend(ctx, &pb.SuspendRequest{Service: svc, IdempotencyKey: "s"}); err != nil {
		t.Fatalf("Suspend: %v", err)
	}
	u, _ := b.fake.User(svc.ExternalId)
	if !u.Disabled || b.fake.SessionCount() != 0 || u.Username != "ezscale-svc-1" {
		t.Errorf("suspended user %+v with %d sessions", u, b.fake.SessionCount())
	}
	if _, err := b.p.Unsuspend(ctx, &pb.UnsuspendRequest{Service: svc, IdempotencyKey: "u"}); err != nil {
		t.Fatalf("Unsuspend: %v", err)
	}
	if u, _ := b.fake.User(svc.ExternalId); u.Disabled {
		t.Error("the user is still disabled")
	}
	if n := b.fake.Calls("POST /api/public/update_user"); n != 2 {
		t.Errorf("%d update_user calls, want 2", n)
	}
}

// TestCreateAfterALostAnswer: Kasm starts the session but the answer to
// request_kasm is lost; the retry finds the user by name and its session
// among the sessions instead of starting a second one.
func TestCreateAfterALostAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	b.fake.LoseNext("POST /api/public/request_kasm", 1)
	if _, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"}); !sdk.IsKind(err, sdk.Unavailable) {
		t.Fatalf("Create with a lost answer: %v, want Unavailable", err)
	}
	if _, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if n, k := b.fake.SessionCount(), b.fake.Calls("POST /api/public/request_kasm"); n != 1 || k != 1 {
		t.Errorf("%d sessions after %d request_kasm calls, want 1 after 1", n, k)
	}
}
