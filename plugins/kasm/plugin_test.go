package main

import (
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/internal/fault"
	"github.com/ezscale/platform/plugins/kasm/fakekasm"
	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

const chrome = "01366df3a03b4bccbb8c913846594826"

type testBundle struct {
	fake *fakekasm.Fake
	h    *plugintest.Harness
	p    sdk.ProvisionerClient
	url  string
}

func setup(t testing.TB, opts fakekasm.Options) *testBundle {
	t.Helper()
	fake := fakekasm.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	h := plugintest.New(t, New(), plugintest.WithRestart(func() sdk.Plugin { return New() }), plugintest.WithConfig(map[string]any{
		"api_url": srv.URL, "api_key": fakekasm.DefaultAPIKey, "api_key_secret": fakekasm.DefaultAPISecret, "timeout": "5s",
	}))
	return &testBundle{fake: fake, h: h, p: h.Provisioner(), url: srv.URL}
}

func service(id string) *pb.ServiceRef {
	return &pb.ServiceRef{ServiceId: id, PlanOptions: map[string]string{"image_id": chrome},
		Customer: &pb.Customer{AccountId: "42", Email: "amy@example.com", Name: "Amy Pond"}}
}

func (b *testBundle) create(t *testing.T, id string) *pb.ServiceRef {
	t.Helper()
	r, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service(id), IdempotencyKey: "c-" + id})
	if err != nil {
		t.Fatal(err)
	}
	svc := service(id)
	svc.ExternalId = r.GetStatus().GetExternalId()
	return svc
}

func TestConformance(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	conformance.Provisioner(t, b.h, conformance.ProvisionerFixture{Service: service("svc-1")})
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	got := b.h.Description().GetCapabilities()
	slices.Sort(got)
	want := []string{string(sdk.CapListAccounts), string(sdk.CapLoginURL), string(sdk.CapPower), string(sdk.CapResetPassword)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("capabilities (-want +got):\n%s", diff)
	}
	if _, err := b.p.Usage(t.Context(), &pb.UsageRequest{Service: service("x")}); !sdk.IsKind(err, sdk.NotSupported) {
		t.Errorf("Usage: %v, want NotSupported", err)
	}
}

func TestCreateIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	ctx := t.Context()

	var wg sync.WaitGroup
	ids := make([]string, 5)
	for i := range ids {
		wg.Go(func() {
			r, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"})
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
		if id != ids[0] || len(id) != 32 {
			t.Fatalf("ids %v", ids)
		}
	}
	type calls struct{ CreateUser, RequestKasm, Sessions int }
	got := calls{b.fake.Calls("POST /api/public/create_user"), b.fake.Calls("POST /api/public/request_kasm"), b.fake.SessionCount()}
	if diff := cmp.Diff(calls{1, 1, 1}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if st := r.GetStatus(); st.GetState() != pb.ServiceState_SERVICE_STATE_ACTIVE || st.GetAttributes()["image"] != "Chrome" ||
		st.GetAttributes()["username"] != "ezscale-svc-1" {
		t.Errorf("status: %v", st)
	}
}

func TestSuspendUnsuspendLogin(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	ctx := t.Context()
	svc := b.create(t, "svc-1")

	s, err := b.p.Suspend(ctx, &pb.SuspendRequest{Service: svc, IdempotencyKey: "s"})
	if err != nil || s.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_SUSPENDED || b.fake.SessionCount() != 0 {
		t.Fatalf("Suspend: %v, %v, %d sessions", s, err, b.fake.SessionCount())
	}
	if _, err := b.p.LoginURL(ctx, &pb.LoginURLRequest{Service: svc}); !sdk.IsKind(err, sdk.Conflict) {
		t.Errorf("LoginURL while suspended: %v", err)
	}
	u, err := b.p.Unsuspend(ctx, &pb.UnsuspendRequest{Service: svc, IdempotencyKey: "u"})
	if err != nil || u.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_ACTIVE || u.GetStatus().GetAttributes()["session"] != "none" {
		t.Fatalf("Unsuspend: %v, %v", u, err)
	}
	l, err := b.p.LoginURL(ctx, &pb.LoginURLRequest{Service: svc})
	if err != nil || !strings.HasPrefix(l.GetUrl(), b.url+"/#/connect/kasm/") {
		t.Fatalf("LoginURL: %v, %v", l, err)
	}
	again, err := b.p.LoginURL(ctx, &pb.LoginURLRequest{Service: svc})
	if err != nil || again.GetUrl() != l.GetUrl() || b.fake.SessionCount() != 1 {
		t.Errorf("second LoginURL: %v, %v, %d sessions", again, err, b.fake.SessionCount())
	}
	off, err := b.p.Power(ctx, &pb.PowerRequest{Service: svc, IdempotencyKey: "p", Action: pb.PowerAction_POWER_ACTION_SHUTDOWN})
	if err != nil || off.GetStatus().GetAttributes()["session"] != "none" || b.fake.SessionCount() != 0 {
		t.Errorf("shutdown: %v, %v", off, err)
	}
}

func TestStartingSession(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{StartDuration: time.Hour})
	r, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"})
	if err != nil || r.GetStatus().GetState() != pb.ServiceState_SERVICE_STATE_PENDING {
		t.Fatalf("Create: %v, %v", r, err)
	}
	svc := service("svc-1")
	svc.ExternalId = r.GetStatus().GetExternalId()
	_, err = b.p.LoginURL(t.Context(), &pb.LoginURLRequest{Service: svc})
	if !sdk.IsKind(err, sdk.Unavailable) || sdk.RetryAfterOf(err) != startingRetry {
		t.Errorf("LoginURL while starting: %v", err)
	}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	ctx := t.Context()
	svc := b.create(t, "svc-1")

	type result struct {
		Kind       sdk.ErrorKind
		RetryAfter time.Duration
	}
	for _, tt := range []struct {
		failure fault.Failure
		want    result
	}{
		{fault.Failure{Status: 200, Message: "Something Kasm refused"}, result{sdk.InvalidInput, 0}},
		{fault.Failure{Status: 400, Message: "Invalid user_id (x)"}, result{sdk.NotFound, 0}},
		{fault.Failure{Status: 401}, result{sdk.Unauthenticated, 0}},
		{fault.Failure{Status: 403}, result{sdk.Unauthenticated, 0}},
		{fault.Failure{Status: 404}, result{sdk.NotFound, 0}},
		{fault.Failure{Status: 409}, result{sdk.Conflict, 0}},
		{fault.Failure{Status: 422}, result{sdk.InvalidInput, 0}},
		{fault.Failure{Status: 423}, result{sdk.Conflict, 0}},
		{fault.Failure{Status: 429, RetryAfter: 6 * time.Second}, result{sdk.Unavailable, 6 * time.Second}},
		{fault.Failure{Status: 503}, result{sdk.Unavailable, 0}},
	} {
		b.fake.FailNext("POST /api/public/get_user", tt.failure)
		_, err := b.p.GetInfo(ctx, &pb.GetInfoRequest{Service: svc})
		if diff := cmp.Diff(tt.want, result{sdk.KindOf(err), sdk.RetryAfterOf(err)}); diff != "" {
			t.Errorf("HTTP %d: %v (-want +got):\n%s", tt.failure.Status, err, diff)
		}
	}
	// A key without permission to list images fails TestConnection as
	// Unauthenticated.
	b.fake.AddAPIKey("weak", "s", fakekasm.PermUser)
	weak := plugintest.New(t, New(), plugintest.WithConfig(map[string]any{"api_url": b.url, "api_key": "weak", "api_key_secret": "s"}))
	if _, err := weak.Provisioner().TestConnection(ctx, &pb.TestConnectionRequest{}); !sdk.IsKind(err, sdk.Unauthenticated) {
		t.Errorf("weak key: %v", err)
	}
}

func TestTerminateAndValidate(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	ctx := t.Context()
	b.create(t, "svc-1")

	if _, err := b.p.Terminate(ctx, &pb.TerminateRequest{Service: service("svc-1"), IdempotencyKey: "t"}); err != nil {
		t.Fatal(err)
	}
	if b.fake.SessionCount() != 0 || b.fake.UserCount() != 1 {
		t.Errorf("after Terminate: %d sessions, %d users (the admin stays)", b.fake.SessionCount(), b.fake.UserCount())
	}

	svc := service("svc-2")
	svc.PlanOptions = map[string]string{"image_id": "5a1b0cf3d6a54f7e8e8a54b4a9c7e001"}
	r, err := b.p.Validate(ctx, &pb.ValidateRequest{Service: svc})
	if ds := sdk.DiagnosticsFromProto(r.GetDiagnostics()); err != nil || len(ds) != 1 || ds[0].Field != "plan_options.image_id" {
		t.Errorf("disabled image: %v, %v", ds, err)
	}
	svc.PlanOptions = nil
	if _, err := b.p.Create(ctx, &pb.CreateRequest{Service: svc, IdempotencyKey: "c"}); !sdk.IsKind(err, sdk.InvalidInput) {
		t.Errorf("Create without an image: %v", err)
	}
}

func TestResetPassword(t *testing.T) {
	t.Parallel()
	b := setup(t, fakekasm.Options{})
	svc := b.create(t, "svc-1")
	r, err := b.p.ResetPassword(t.Context(), &pb.ResetPasswordRequest{Service: svc, IdempotencyKey: "r"})
	if err != nil || r.GetPassword() == "" || b.fake.Password(svc.ExternalId) != r.GetPassword() {
		t.Fatalf("ResetPassword: %v, %v", r, err)
	}
	r, err = b.p.ResetPassword(t.Context(), &pb.ResetPasswordRequest{Service: svc, IdempotencyKey: "r2", NewPassword: "chosen-pass"})
	if err != nil || r.GetPassword() != "" || b.fake.Password(svc.ExternalId) != "chosen-pass" {
		t.Fatalf("ResetPassword with a password: %v, %v", r, err)
	}
}
