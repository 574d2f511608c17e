package virtfusionapi_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/internal/fault"
	"github.com/ezscale/platform/plugins/virtfusion/fakevirtfusion"
	vf "github.com/ezscale/platform/plugins/virtfusion/virtfusionapi"
)

type testBundle struct {
	fake   *fakevirtfusion.Fake
	client *vf.Client
	url    string
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	fake := fakevirtfusion.New(fakevirtfusion.Options{Token: "tok"})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	url := srv.URL + fakevirtfusion.BasePath
	client, err := vf.New(vf.Config{BaseURL: url, Token: "tok", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{fake: fake, client: client, url: url}
}

// newServer creates a user and a built server in group 1 from package 1.
func (b *testBundle) newServer(t *testing.T, ext int64) (*vf.User, *vf.Server) {
	t.Helper()
	ctx := t.Context()
	u, err := b.client.CreateUser(ctx, vf.CreateUserRequest{Name: "Jon Doe", Email: "jon" + strconv.FormatInt(ext, 10) + "@doe.example", ExtRelationID: ext})
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.client.CreateServer(ctx, vf.CreateServerRequest{PackageID: 1, UserID: u.ID, HypervisorID: 1, IPv4: 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	s, err = b.client.BuildServer(ctx, s.ID, vf.BuildRequest{OperatingSystemID: 1, Name: "srv", Hostname: "srv.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return u, s
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()

	for name, cfg := range map[string]vf.Config{
		"no token":   {BaseURL: "https://cp.example.com/api/v1"},
		"bad scheme": {BaseURL: "ftp://cp.example.com", Token: "x"},
		"no host":    {BaseURL: "https:///api/v1", Token: "x"},
	} {
		if _, err := vf.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestConnectChecksToken(t *testing.T) {
	t.Parallel()
	b := setup(t)

	if err := b.client.Connect(t.Context()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	bad, _ := vf.New(vf.Config{BaseURL: b.url, Token: "wrong"})
	err := bad.Connect(t.Context())
	e, ok := vf.AsError(err)
	if !ok || !vf.IsUnauthorized(err) || e.Message != "Unauthenticated." {
		t.Fatalf("Connect with a wrong token: %v", err)
	}
}

func TestUsersByExtRelation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	if _, err := b.client.UserByExtRelationID(ctx, 42); !vf.IsNotFound(err) {
		t.Fatalf("unknown extRelationId: want 404, got %v", err)
	}
	u, err := b.client.CreateUser(ctx, vf.CreateUserRequest{Name: "Jon Doe", Email: "jon@doe.example", ExtRelationID: 42})
	if err != nil {
		t.Fatal(err)
	}
	if u.Password == "" || u.ExtRelationID == nil || *u.ExtRelationID != 42 {
		t.Fatalf("created user: %+v", u)
	}
	got, err := b.client.UserByExtRelationID(ctx, 42)
	if err != nil {
		t.Fatal(err)
	}
	want := *u
	want.Password = ""
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("found user (-want +got):\n%s", diff)
	}

	_, err = b.client.CreateUser(ctx, vf.CreateUserRequest{Name: "Again", Email: "other@doe.example", ExtRelationID: 42})
	e, _ := vf.AsError(err)
	if !vf.IsUnprocessable(err) || e.Message != "The ext relation id has already been taken." {
		t.Fatalf("duplicate extRelationId: %v", err)
	}
	_, err = b.client.CreateUser(ctx, vf.CreateUserRequest{ExtRelationID: 7})
	e, _ = vf.AsError(err)
	wantMsgs := []string{"The name field is required.", "The email field is required."}
	if e == nil || !cmp.Equal(wantMsgs, e.Messages) {
		t.Fatalf("validation messages: %v", err)
	}

	reset, err := b.client.ResetUserPassword(ctx, 42)
	if err != nil || reset.Password == "" || reset.Email != "jon@doe.example" {
		t.Fatalf("ResetUserPassword: %+v, %v", reset, err)
	}
	if err := b.client.DeleteUser(ctx, 42); err != nil {
		t.Fatal(err)
	}
	if err := b.client.DeleteUser(ctx, 42); !vf.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	u, err := b.client.CreateUser(ctx, vf.CreateUserRequest{Name: "Jon", Email: "jon@doe.example", ExtRelationID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.CreateServer(ctx, vf.CreateServerRequest{PackageID: 1, UserID: u.ID, HypervisorID: 1}, true); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if n := b.fake.ServerCount(); n != 0 {
		t.Fatalf("dry run created %d servers", n)
	}
	s, err := b.client.CreateServer(ctx, vf.CreateServerRequest{PackageID: 1, UserID: u.ID, HypervisorID: 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != vf.StateAllocated || s.Built != nil || s.OwnerID != u.ID || s.Hypervisor.GroupID != 1 || s.Settings.Resources.Memory != 1024 {
		t.Fatalf("created server: %+v", s)
	}
	if _, err := b.client.Power(ctx, s.ID, vf.PowerBoot); !vf.IsUnprocessable(err) {
		t.Fatalf("power before build: %v", err)
	}
	if _, err := b.client.BuildServer(ctx, s.ID, vf.BuildRequest{OperatingSystemID: 99}); !vf.IsUnprocessable(err) {
		t.Fatalf("build with unknown OS: %v", err)
	}
	built, err := b.client.BuildServer(ctx, s.ID, vf.BuildRequest{OperatingSystemID: 1, Name: "web", Hostname: "web.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if built.State != vf.StateQueued || built.CommissionStatus != 1 || built.Built == nil || built.Settings.DecryptedPassword == "" || !built.Tasks.Active {
		t.Fatalf("built server: %+v", built)
	}
	if _, err := b.client.BuildServer(ctx, s.ID, vf.BuildRequest{OperatingSystemID: 1}); !vf.IsUnprocessable(err) {
		t.Fatalf("second build: %v", err)
	}

	live, err := b.client.Server(ctx, s.ID, true)
	if err != nil || live.RemoteState == nil || live.RemoteState.State != vf.PowerRunning {
		t.Fatalf("remote state after build: %+v, %v", live.RemoteState, err)
	}
	if plain, _ := b.client.Server(ctx, s.ID, false); plain.RemoteState != nil {
		t.Fatal("remote state without ?remoteState=true")
	}
	if q, err := b.client.Power(ctx, s.ID, vf.PowerShutdown); err != nil || q == 0 {
		t.Fatalf("shutdown: %d, %v", q, err)
	}
	if live, _ = b.client.Server(ctx, s.ID, true); live.RemoteState.State != vf.PowerShutoff {
		t.Fatalf("state after shutdown: %q", live.RemoteState.State)
	}

	if err := b.client.SuspendServer(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.client.Server(ctx, s.ID, false); !got.Suspended {
		t.Fatal("not suspended")
	}
	if err := b.client.UnsuspendServer(ctx, s.ID); err != nil {
		t.Fatal(err)
	}

	info, err := b.client.ChangePackage(ctx, s.ID, 2, vf.ApplyAll)
	if err != nil || len(info) == 0 {
		t.Fatalf("ChangePackage: %v, %v", info, err)
	}
	if got, _ := b.client.Server(ctx, s.ID, false); got.Settings.Resources.Memory != 2048 || got.CPU.Cores != 2 {
		t.Fatalf("resources after change: %+v", got.Settings.Resources)
	}
	if _, err := b.client.ChangePackage(ctx, s.ID, 99, vf.ApplyAll); !vf.IsNotFound(err) {
		t.Fatalf("unknown package: %v", err)
	}
	if err := b.client.ModifyName(ctx, s.ID, "renamed"); err != nil {
		t.Fatal(err)
	}

	pw, err := b.client.ResetServerPassword(ctx, s.ID, "root", false)
	if err != nil || pw.QueueID == 0 || pw.ExpectedPassword == "" {
		t.Fatalf("ResetServerPassword: %+v, %v", pw, err)
	}

	tokens, err := b.client.ServerAuthenticationTokens(ctx, 1, s.ID)
	if err != nil || len(tokens.Tokens) != 2 || tokens.EndpointComplete == "" || tokens.Expiry.TTL <= 0 {
		t.Fatalf("SSO tokens: %+v, %v", tokens, err)
	}
	// endpoint_complete is a path on the panel's origin, which PanelURL
	// puts in front of it (the API root's /api/v1 is not part of it).
	if !strings.HasPrefix(tokens.EndpointComplete, "/authenticate/server/"+s.UUID+"?") {
		t.Errorf("endpoint_complete %q, want a path on the panel", tokens.EndpointComplete)
	}
	link, err := b.client.PanelURL(tokens.EndpointComplete)
	if err != nil || link != strings.TrimSuffix(b.url, fakevirtfusion.BasePath)+tokens.EndpointComplete {
		t.Errorf("PanelURL: %q, %v", link, err)
	}

	if err := b.fake.SetUsage(s.ID, 1<<30, 1<<29, 12.5, 512, 3); err != nil {
		t.Fatal(err)
	}
	tr, err := b.client.Traffic(ctx, s.ID)
	if err != nil || len(tr.Monthly) != 1 {
		t.Fatalf("Traffic: %+v, %v", tr, err)
	}
	if got := tr.Monthly[0]; got.RX != 1<<30 || got.TX != 1<<29 || got.Total != 3<<29 || got.Limit != 1000 {
		t.Fatalf("traffic period: %+v", got)
	}

	if bs, err := b.client.Backups(ctx, s.ID); err != nil || len(bs) != 0 {
		t.Fatalf("backups before any: %v, %v", bs, err)
	}
	want, _ := b.fake.AddBackup(s.ID)
	bs, err := b.client.Backups(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]vf.Backup{want}, bs); diff != "" {
		t.Errorf("backups (-want +got):\n%s", diff)
	}
	if err := b.client.SetBackupPlan(ctx, s.ID, 3); err != nil {
		t.Fatal(err)
	}

	list, err := b.client.AllUserServers(ctx, u.ID)
	if err != nil || len(list) != 1 || list[0].ID != s.ID {
		t.Fatalf("AllUserServers: %+v, %v", list, err)
	}

	if err := b.client.DeleteServer(ctx, s.ID, 0); err != nil {
		t.Fatal(err)
	}
	err = b.client.DeleteServer(ctx, s.ID, 0)
	e, _ := vf.AsError(err)
	// The official WHMCS module treats exactly this body as "already gone".
	if !vf.IsNotFound(err) || e.Message != "server not found" {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestCreateServerValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)

	_, err := b.client.CreateServer(t.Context(), vf.CreateServerRequest{PackageID: 4, UserID: 99, HypervisorID: 9}, false)
	e, ok := vf.AsError(err)
	if !ok {
		t.Fatalf("want *Error, got %v", err)
	}
	want := []string{"The selected package is disabled.", "The selected user id is invalid.", "The selected hypervisor id is invalid."}
	if diff := cmp.Diff(want, e.Messages); diff != "" || e.StatusCode != 422 || e.Message != want[0] {
		t.Errorf("status %d, messages (-want +got):\n%s", e.StatusCode, diff)
	}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()

	type result struct {
		Status     int
		Message    string
		RetryAfter time.Duration
		Class      string
	}
	classify := func(err error) string {
		switch {
		case vf.IsUnauthorized(err):
			return "unauthorized"
		case vf.IsForbidden(err):
			return "forbidden"
		case vf.IsNotFound(err):
			return "not found"
		case vf.IsConflict(err):
			return "conflict"
		case vf.IsUnprocessable(err):
			return "invalid"
		case vf.IsLocked(err):
			return "locked"
		case vf.IsRateLimited(err):
			return "rate limited"
		case vf.IsServerError(err):
			return "server error"
		}
		return "other"
	}
	tests := []struct {
		failure fault.Failure
		want    result
	}{
		{fault.Failure{Status: 401}, result{401, "Unauthenticated.", 0, "unauthorized"}},
		{fault.Failure{Status: 403, Message: "forbidden"}, result{403, "forbidden", 0, "forbidden"}},
		{fault.Failure{Status: 404}, result{404, "server not found", 0, "not found"}},
		{fault.Failure{Status: 409}, result{409, "Conflict", 0, "conflict"}},
		{fault.Failure{Status: 422, Message: "The memory must be at least 256."}, result{422, "The memory must be at least 256.", 0, "invalid"}},
		{fault.Failure{Status: 423}, result{423, "server is locked by a running task", 0, "locked"}},
		{fault.Failure{Status: 429, RetryAfter: 7 * time.Second}, result{429, "Too Many Attempts.", 7 * time.Second, "rate limited"}},
		{fault.Failure{Status: 500}, result{500, "Server Error", 0, "server error"}},
		{fault.Failure{Status: 503, RetryAfter: 2 * time.Second}, result{503, "Server Error", 2 * time.Second, "server error"}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.failure.Status), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.fake.FailNext("POST /api/v1/servers/{id}/suspend", tt.failure)
			err := b.client.SuspendServer(t.Context(), 5)
			e, ok := vf.AsError(err)
			if !ok {
				t.Fatalf("want *Error, got %v", err)
			}
			got := result{e.StatusCode, e.Message, e.RetryAfter, classify(err)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// The failure is consumed: the next call reaches the handler.
			if err := b.client.SuspendServer(t.Context(), 5); !vf.IsNotFound(err) {
				t.Errorf("after the injected failure: %v", err)
			}
		})
	}
}

func TestLockedServer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, s := b.newServer(t, 1)

	b.fake.LockServer(s.ID, true)
	if err := b.client.SuspendServer(t.Context(), s.ID); !vf.IsLocked(err) {
		t.Fatalf("suspend while locked: %v", err)
	}
	// Reads still work while a task runs.
	if _, err := b.client.Server(t.Context(), s.ID, false); err != nil {
		t.Fatal(err)
	}
	b.fake.LockServer(s.ID, false)
	if err := b.client.SuspendServer(t.Context(), s.ID); err != nil {
		t.Fatal(err)
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	u, _ := b.client.CreateUser(ctx, vf.CreateUserRequest{Name: "Many", Email: "many@doe.example", ExtRelationID: 9})
	for range 25 {
		if _, err := b.client.CreateServer(ctx, vf.CreateServerRequest{PackageID: 1, UserID: u.ID, HypervisorID: 1}, false); err != nil {
			t.Fatal(err)
		}
	}
	p, err := b.client.Servers(ctx, vf.ListServersOptions{ListOptions: vf.ListOptions{Page: 2, Results: 10}})
	if err != nil {
		t.Fatal(err)
	}
	type meta struct{ Current, Last, PerPage, Total, Items, From, To int }
	if diff := cmp.Diff(meta{2, 3, 10, 25, 10, 11, 20}, meta{p.CurrentPage, p.LastPage, p.PerPage, p.Total, len(p.Data), *p.From, *p.To}); diff != "" {
		t.Errorf("page 2 (-want +got):\n%s", diff)
	}
	if p.NextPageURL == nil || p.PrevPageURL == nil {
		t.Error("page 2 lacks next/prev URLs")
	}
	all, err := b.client.AllServers(ctx)
	if err != nil || len(all) != 25 {
		t.Fatalf("AllServers: %d, %v", len(all), err)
	}
	for i, s := range all {
		if s.ID != int64(i+1) {
			t.Fatalf("order: item %d has id %d", i, s.ID)
		}
	}
	p, _ = b.client.Servers(ctx, vf.ListServersOptions{ListOptions: vf.ListOptions{Page: 9, Results: 10}})
	if len(p.Data) != 0 || p.NextPageURL != nil {
		t.Errorf("past the last page: %+v", p)
	}
	if _, err := b.client.Servers(ctx, vf.ListServersOptions{ListOptions: vf.ListOptions{Results: 500}}); !vf.IsUnprocessable(err) {
		t.Errorf("results=500: %v", err)
	}
	groups, err := b.client.AllHypervisorGroups(ctx)
	if err != nil || len(groups) != 2 || !groups[0].Default {
		t.Fatalf("groups: %+v, %v", groups, err)
	}
	hvs, err := b.client.Hypervisors(ctx, vf.ListOptions{})
	if err != nil || hvs.Total != 3 {
		t.Fatalf("hypervisors: %+v, %v", hvs, err)
	}
}

func TestCapacity(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.newServer(t, 1)

	res, err := b.client.HypervisorGroupResources(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var servers, mem int64
	for _, h := range res.Hypervisors {
		servers += h.Servers.Allocated
		mem += h.Memory.Allocated
		if h.Memory.Free != h.Memory.Max-h.Memory.Allocated {
			t.Errorf("hypervisor %d: free %d != max %d - allocated %d", h.ID, h.Memory.Free, h.Memory.Max, h.Memory.Allocated)
		}
	}
	if len(res.Hypervisors) != 2 || servers != 1 || mem != 1024 {
		t.Fatalf("group 1 resources: %+v", res)
	}
	if _, err := b.client.HypervisorGroupResources(t.Context(), 99); !vf.IsNotFound(err) {
		t.Fatalf("unknown group: %v", err)
	}
	g, err := b.client.HypervisorGroup(t.Context(), 2)
	if err != nil || g.Name != "NVMe" {
		t.Fatalf("group 2: %+v, %v", g, err)
	}
	pkgs, err := b.client.Packages(t.Context())
	if err != nil || len(pkgs) != 4 {
		t.Fatalf("packages: %v", err)
	}
	if p, err := b.client.Package(t.Context(), 2); err != nil || p.Memory != 2048 {
		t.Fatalf("package 2: %+v, %v", p, err)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)

	b.fake.SetRateLimit(2, time.Minute)
	for range 2 {
		if err := b.client.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	err := b.client.Connect(t.Context())
	if d, ok := vf.RetryAfter(err); !vf.IsRateLimited(err) || !ok || d <= 0 || d > time.Minute {
		t.Fatalf("third call: %v (retry after %v)", err, d)
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	b := setup(t)

	b.fake.SetLatency(fault.Any, time.Second)
	fast, _ := vf.New(vf.Config{BaseURL: b.url, Token: "tok", Timeout: 50 * time.Millisecond})
	if err := fast.Connect(t.Context()); !vf.IsTransport(err) {
		t.Fatalf("timeout: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.client.Connect(ctx); !vf.IsTransport(err) {
		t.Fatalf("cancelled: %v", err)
	}
}

// TestUserServersArePaginated: GET /servers/user/{id} is Laravel-paginated
// like every list (20 per page by default); AllUserServers walks every page.
func TestUserServersArePaginated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	u, _ := b.newServer(t, 7)
	for range 24 {
		if _, err := b.client.CreateServer(ctx, vf.CreateServerRequest{PackageID: 1, UserID: u.ID, HypervisorID: 1, IPv4: 1}, false); err != nil {
			t.Fatal(err)
		}
	}
	first, err := b.client.UserServers(ctx, u.ID, vf.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type page struct{ Items, PerPage, LastPage, Total int }
	if diff := cmp.Diff(page{20, 20, 2, 25}, page{len(first.Data), first.PerPage, first.LastPage, first.Total}); diff != "" {
		t.Errorf("first page (-want +got):\n%s", diff)
	}
	all, err := b.client.AllUserServers(ctx, u.ID)
	if err != nil || len(all) != 25 {
		t.Fatalf("AllUserServers: %d servers, %v", len(all), err)
	}
}
