package pterodactylapi_test

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/internal/fault"
	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
)

type testBundle struct {
	fake   *fakepterodactyl.Fake
	client *pt.Client
	url    string
}

func setup(t *testing.T, opts fakepterodactyl.Options) *testBundle {
	t.Helper()
	fake := fakepterodactyl.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client, err := pt.New(pt.Config{BaseURL: srv.URL, ApplicationKey: fakepterodactyl.DefaultApplicationKey,
		ClientKey: fakepterodactyl.DefaultClientKey, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{fake: fake, client: client, url: srv.URL}
}

func ptr[T any](v T) *T { return &v }

func (b *testBundle) newUser(t *testing.T, n int) *pt.User {
	t.Helper()
	s := strconv.Itoa(n)
	u, err := b.client.CreateUser(t.Context(), pt.UserRequest{Email: "user" + s + "@example.com", Username: "user" + s,
		FirstName: "User", LastName: s, ExternalID: "acct-" + s})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func serverRequest(user, alloc int64, ext string) pt.CreateServerRequest {
	return pt.CreateServerRequest{
		Name: "Game " + ext, User: user, Egg: 1, ExternalID: ext,
		DockerImage:   "ghcr.io/pterodactyl/yolks:java_17",
		Startup:       "java -Xms128M -Xmx{{SERVER_MEMORY}}M -jar {{SERVER_JARFILE}}",
		Environment:   map[string]string{"SERVER_JARFILE": "server.jar", "VANILLA_VERSION": "latest"},
		Limits:        pt.Limits{Memory: 2048, Disk: 10240, IO: 500, CPU: 100},
		FeatureLimits: pt.FeatureLimits{Databases: ptr[int64](1), Allocations: ptr[int64](1), Backups: ptr[int64](2)},
		Allocation:    &pt.AllocationRequest{Default: alloc},
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()

	if _, err := pt.New(pt.Config{BaseURL: "https://panel.example.com"}); err == nil {
		t.Error("accepted a config without an application key")
	}
	if _, err := pt.New(pt.Config{BaseURL: "panel.example.com", ApplicationKey: "ptla_x"}); err == nil {
		t.Error("accepted a base URL without a scheme")
	}
	c, err := pt.New(pt.Config{BaseURL: "https://panel.example.com", ApplicationKey: "ptla_x"})
	if err != nil || c.HasClientKey() {
		t.Fatalf("New: %v", err)
	}
	if err := c.Power(t.Context(), "abcd1234", pt.SignalStart); err == nil {
		t.Error("client call without a client key succeeded")
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	ctx := t.Context()

	type result struct {
		Status        int
		Code, Message string
	}
	res := func(err error) result {
		e, ok := pt.AsError(err)
		if !ok {
			return result{Message: "no API error: " + errString(err)}
		}
		return result{e.StatusCode, e.Code, e.Message}
	}
	client := func(app, cl string) *pt.Client {
		c, err := pt.New(pt.Config{BaseURL: b.url, ApplicationKey: app, ClientKey: cl})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	_, err := client("ptla_wrong", "").Users(ctx, pt.ListOptions{})
	if diff := cmp.Diff(result{401, "AuthenticationException", "Unauthenticated."}, res(err)); diff != "" {
		t.Errorf("wrong key (-want +got):\n%s", diff)
	}
	// A client key is not an application key.
	_, err = client(fakepterodactyl.DefaultClientKey, "").Users(ctx, pt.ListOptions{})
	if diff := cmp.Diff(result{401, "AuthenticationException", "Unauthenticated."}, res(err)); diff != "" {
		t.Errorf("client key on the application API (-want +got):\n%s", diff)
	}
	u := b.newUser(t, 1)
	_, err = client(b.fake.AddKey(u.ID, true), "").Users(ctx, pt.ListOptions{})
	if diff := cmp.Diff(result{403, "AccessDeniedHttpException", "This account does not have permission to access the API."}, res(err)); diff != "" {
		t.Errorf("non-admin application key (-want +got):\n%s", diff)
	}

	s, err := b.client.CreateServer(ctx, serverRequest(1, 1, "svc-1"))
	if err != nil {
		t.Fatal(err)
	}
	err = client("ptla_x", fakepterodactyl.DefaultApplicationKey).Power(ctx, s.Identifier, pt.SignalStart)
	if diff := cmp.Diff(result{403, "AccessDeniedHttpException", "You are attempting to use an application API key on an endpoint that requires a client API key."}, res(err)); diff != "" {
		t.Errorf("application key on the client API (-want +got):\n%s", diff)
	}
	// Another user's client key cannot see the admin's server.
	err = client("ptla_x", b.fake.AddKey(u.ID, false)).Power(ctx, s.Identifier, pt.SignalStart)
	if !pt.IsNotFound(err) {
		t.Errorf("foreign client key: %v", err)
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	ctx := t.Context()

	if _, err := b.client.UserByExternalID(ctx, "acct-1"); !pt.IsNotFound(err) {
		t.Fatalf("unknown external id: %v", err)
	}
	u := b.newUser(t, 1)
	got, err := b.client.UserByExternalID(ctx, "acct-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("by external id (-want +got):\n%s", diff)
	}
	if got, err := b.client.User(ctx, u.ID); err != nil || got.Email != u.Email {
		t.Fatalf("User: %+v, %v", got, err)
	}
	found, err := b.client.Users(ctx, pt.ListOptions{Filters: map[string]string{"email": "user1@example.com"}})
	if err != nil || len(found.Data) != 1 || found.Data[0].Object != "user" || found.Data[0].Attributes.ID != u.ID {
		t.Fatalf("filter by email: %+v, %v", found, err)
	}

	_, err = b.client.CreateUser(ctx, pt.UserRequest{Email: "user1@example.com", Username: "user1", ExternalID: "acct-1"})
	e, ok := pt.AsError(err)
	if !ok || e.StatusCode != 422 || e.Code != "ValidationException" {
		t.Fatalf("invalid user: %v", err)
	}
	want := []string{"The first name field is required.", "The last name field is required.", "The email has already been taken.",
		"The username has already been taken.", "The external id has already been taken."}
	if diff := cmp.Diff(want, e.Messages); diff != "" {
		t.Errorf("validation messages (-want +got):\n%s", diff)
	}

	upd, err := b.client.UpdateUser(ctx, u.ID, pt.UserRequest{Email: u.Email, Username: u.Username, FirstName: "New", LastName: "Name", Password: "s3cret-pass"})
	if err != nil || upd.FirstName != "New" {
		t.Fatalf("UpdateUser: %+v, %v", upd, err)
	}

	if _, err := b.client.CreateServer(ctx, serverRequest(u.ID, 1, "svc-1")); err != nil {
		t.Fatal(err)
	}
	err = b.client.DeleteUser(ctx, u.ID)
	if e, _ := pt.AsError(err); e == nil || e.StatusCode != 400 || e.Code != "DisplayException" {
		t.Fatalf("delete a user with servers: %v", err)
	}
	s, _ := b.client.ServerByExternalID(ctx, "svc-1")
	if err := b.client.DeleteServer(ctx, s.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := b.client.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.User(ctx, u.ID); !pt.IsNotFound(err) {
		t.Fatalf("deleted user still there: %v", err)
	}
}

func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	ctx := t.Context()
	u := b.newUser(t, 1)

	free, err := b.client.FreeAllocations(ctx, 1)
	if err != nil || len(free) != 20 {
		t.Fatalf("free allocations: %d, %v", len(free), err)
	}
	s, err := b.client.CreateServer(ctx, serverRequest(u.ID, free[0].ID, "svc-1"))
	if err != nil {
		t.Fatal(err)
	}
	if s.StatusString() != pt.StatusInstalling || s.Identifier != s.UUID[:8] || s.Node != 1 || s.Nest != 1 || s.Allocation != free[0].ID {
		t.Fatalf("created: %+v", s)
	}
	if env := s.Container.Environment; env["SERVER_JARFILE"] != "server.jar" || env["P_SERVER_UUID"] != s.UUID {
		t.Errorf("environment: %v", env)
	}
	if free, _ = b.client.FreeAllocations(ctx, 1); len(free) != 19 {
		t.Errorf("allocation not taken: %d free", len(free))
	}
	_, err = b.client.CreateServer(ctx, serverRequest(u.ID, s.Allocation, "svc-1"))
	if e, _ := pt.AsError(err); e == nil || !cmp.Equal([]string{"The external id has already been taken.", "The selected allocation.default is invalid."}, e.Messages) {
		t.Fatalf("duplicate external id and taken allocation: %v", err)
	}

	got, err := b.client.Server(ctx, s.ID, "allocations")
	if err != nil || got.Status != nil || got.Container.Installed != 1 {
		t.Fatalf("installed server: %+v, %v", got, err)
	}
	if got.Relationships == nil || got.Relationships.Allocations == nil || len(got.Relationships.Allocations.Data) != 1 ||
		!got.Relationships.Allocations.Data[0].Attributes.Assigned {
		t.Fatalf("allocations include: %+v", got.Relationships)
	}
	if byExt, err := b.client.ServerByExternalID(ctx, "svc-1"); err != nil || byExt.ID != s.ID {
		t.Fatalf("by external id: %v", err)
	}

	if err := b.client.SendCommand(ctx, s.Identifier, "say hi"); pt.StatusCodeOf(err) != 502 {
		t.Fatalf("command to a stopped server: %v", err)
	}
	if err := b.client.Power(ctx, s.Identifier, pt.SignalStart); err != nil {
		t.Fatal(err)
	}
	stats, err := b.client.Resources(ctx, s.UUID) // the full uuid works too
	if err != nil || stats.CurrentState != pt.StateRunning || stats.Resources.MemoryBytes == 0 {
		t.Fatalf("resources: %+v, %v", stats, err)
	}
	if err := b.client.SendCommand(ctx, s.Identifier, "say hi"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"say hi"}, b.fake.Commands(s.ID)); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}

	if err := b.client.SuspendServer(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	err = b.client.Power(ctx, s.Identifier, pt.SignalStart)
	e, _ := pt.AsError(err)
	if !pt.IsConflict(err) || e.Code != "ConflictHttpException" || e.Message != "This server is currently suspended and the functionality requested is unavailable." {
		t.Fatalf("power while suspended: %v", err)
	}
	if got, _ := b.client.Server(ctx, s.ID); got.StatusString() != pt.StatusSuspended || !got.Suspended {
		t.Fatalf("suspended status: %+v", got.Status)
	}
	// The client view still answers while suspended.
	if cs, err := b.client.ClientServer(ctx, s.Identifier); err != nil || !cs.IsSuspended {
		t.Fatalf("client view while suspended: %+v, %v", cs, err)
	}
	if err := b.client.UnsuspendServer(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if stats, _ := b.client.Resources(ctx, s.Identifier); stats.CurrentState != pt.StateOffline {
		t.Errorf("a suspended server is stopped: %q", stats.CurrentState)
	}

	upd, err := b.client.UpdateBuild(ctx, s.ID, pt.BuildRequest{Allocation: s.Allocation, AddAllocations: []int64{free[0].ID},
		Limits:        pt.Limits{Memory: 4096, Disk: 20480, IO: 500, CPU: 200},
		FeatureLimits: pt.FeatureLimits{Databases: ptr[int64](1), Allocations: ptr[int64](2), Backups: ptr[int64](2)}})
	if err != nil || upd.Limits.Memory != 4096 || *upd.FeatureLimits.Allocations != 2 {
		t.Fatalf("UpdateBuild: %+v, %v", upd, err)
	}
	_, err = b.client.UpdateBuild(ctx, s.ID, pt.BuildRequest{Allocation: s.Allocation, Limits: pt.Limits{Memory: 1}})
	if e, _ := pt.AsError(err); e == nil || e.StatusCode != 422 || e.Message != "The limits.io must be between 10 and 1000." {
		t.Fatalf("build with io 0: %v", err)
	}
	_, err = b.client.UpdateBuild(ctx, s.ID, pt.BuildRequest{Allocation: 30, Limits: pt.Limits{Memory: 1, IO: 500}})
	if e, _ := pt.AsError(err); e == nil || e.StatusCode != 400 || e.Code != "DisplayException" {
		t.Fatalf("build with a foreign default allocation: %v", err)
	}
	if _, err := b.client.UpdateDetails(ctx, s.ID, pt.DetailsRequest{Name: "Renamed", User: u.ID}); err != nil {
		t.Fatal(err)
	}

	if err := b.client.DeleteServer(ctx, s.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := b.client.DeleteServer(ctx, s.ID, false); !pt.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
	if free, _ = b.client.FreeAllocations(ctx, 1); len(free) != 20 {
		t.Errorf("allocations not released: %d free", len(free))
	}
}

func TestInstallingAndMaintenanceConflict(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{InstallDuration: time.Hour})
	ctx := t.Context()

	s, err := b.client.CreateServer(ctx, serverRequest(1, 1, "svc-1"))
	if err != nil {
		t.Fatal(err)
	}
	err = b.client.Power(ctx, s.Identifier, pt.SignalStart)
	if e, _ := pt.AsError(err); !pt.IsConflict(err) || e.Message != "This server has not yet completed its installation process, please try again later." {
		t.Fatalf("power while installing: %v", err)
	}
	b2 := setup(t, fakepterodactyl.Options{})
	s2, _ := b2.client.CreateServer(ctx, serverRequest(1, 1, "svc-2"))
	b2.fake.SetNodeMaintenance(s2.Node, true)
	if err := b2.client.Power(ctx, s2.Identifier, pt.SignalStart); !pt.IsConflict(err) {
		t.Fatalf("power during node maintenance: %v", err)
	}
}

func TestCreateServerValidationAndDeploy(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	ctx := t.Context()

	req := serverRequest(1, 1, "svc-1")
	req.Environment = map[string]string{}
	req.Limits.IO = 5
	_, err := b.client.CreateServer(ctx, req)
	e, _ := pt.AsError(err)
	if e == nil {
		t.Fatalf("want a validation error, got %v", err)
	}
	want := []string{"The limits.io must be between 10 and 1000.", "The Server Jar File variable field is required.", "The Server Version variable field is required."}
	if diff := cmp.Diff(want, e.Messages); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}

	req = serverRequest(1, 0, "svc-2")
	req.Allocation = nil
	req.Deploy = &pt.DeployRequest{Locations: []int64{2}, PortRange: []string{"25570-25574"}}
	s, err := b.client.CreateServer(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if s.Node != 2 {
		t.Errorf("deployed on node %d, want 2", s.Node)
	}
	req.ExternalID, req.Deploy.Locations = "svc-3", []int64{99}
	_, err = b.client.CreateServer(ctx, req)
	if e, _ := pt.AsError(err); e == nil || e.StatusCode != 400 || e.Code != pt.CodeNoViableNode || !pt.IsCapacity(err) {
		t.Fatalf("deploy without a viable node: %v", err)
	}
}

func TestNodesNestsEggs(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	ctx := t.Context()

	nodes, err := b.client.AllNodes(ctx)
	if err != nil || len(nodes) != 2 {
		t.Fatalf("nodes: %v", err)
	}
	if _, err := b.client.CreateServer(ctx, serverRequest(1, 1, "svc-1")); err != nil {
		t.Fatal(err)
	}
	n, err := b.client.Node(ctx, 1)
	if err != nil || n.AllocatedResources.Memory != 2048 || n.AllocatedResources.Disk != 10240 {
		t.Fatalf("node 1 allocated resources: %+v, %v", n, err)
	}
	dep, err := b.client.DeployableNodes(ctx, 20000, 1000)
	if err != nil || len(dep) != 1 || dep[0].ID != 1 {
		t.Fatalf("deployable for 20 GB: %+v, %v", dep, err)
	}
	dep, _ = b.client.DeployableNodes(ctx, 1024, 1000, 2)
	if len(dep) != 1 || dep[0].ID != 2 {
		t.Fatalf("deployable in location 2: %+v", dep)
	}
	if _, err := b.client.Node(ctx, 9); !pt.IsNotFound(err) {
		t.Fatalf("unknown node: %v", err)
	}
	nests, err := b.client.Nests(ctx, pt.ListOptions{})
	if err != nil || nests.Meta.Pagination.Total != 2 {
		t.Fatalf("nests: %v", err)
	}
	eggs, err := b.client.Eggs(ctx, 1)
	if err != nil || len(eggs) != 2 {
		t.Fatalf("eggs: %v", err)
	}
	egg, err := b.client.Egg(ctx, 1, 1)
	if err != nil || egg.Relationships == nil || len(egg.Relationships.Variables.Items()) != 2 {
		t.Fatalf("egg with variables: %+v, %v", egg, err)
	}
	if _, err := b.client.Egg(ctx, 2, 1); !pt.IsNotFound(err) {
		t.Fatalf("egg in the wrong nest: %v", err)
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	ctx := t.Context()

	for i := range 7 {
		b.newUser(t, i)
	}
	page, err := b.client.Users(ctx, pt.ListOptions{Page: 2, PerPage: 3})
	if err != nil {
		t.Fatal(err)
	}
	p := page.Meta.Pagination
	type meta struct{ Total, Count, PerPage, Current, Pages int }
	if diff := cmp.Diff(meta{8, 3, 3, 2, 3}, meta{p.Total, p.Count, p.PerPage, p.CurrentPage, p.TotalPages}); diff != "" {
		t.Errorf("page 2 (-want +got):\n%s", diff)
	}
	if p.Links.Next == "" || p.Links.Previous == "" {
		t.Errorf("links: %+v", p.Links)
	}
	all, err := b.client.AllUsers(ctx, pt.ListOptions{PerPage: 3})
	if err != nil || len(all) != 8 {
		t.Fatalf("AllUsers: %d, %v", len(all), err)
	}
	if all[0].ID != 1 || all[7].ID != 8 {
		t.Errorf("order: first %d, last %d", all[0].ID, all[7].ID)
	}
	servers, err := b.client.AllServers(ctx, pt.ListOptions{})
	if err != nil || len(servers) != 0 {
		t.Fatalf("AllServers: %v", err)
	}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()

	type result struct {
		Status     int
		Code       string
		Message    string
		RetryAfter time.Duration
	}
	tests := []struct {
		failure fault.Failure
		want    result
	}{
		{fault.Failure{Status: 401}, result{401, "AuthenticationException", "Unauthenticated.", 0}},
		{fault.Failure{Status: 403}, result{403, "AccessDeniedHttpException", "Forbidden", 0}},
		{fault.Failure{Status: 404}, result{404, "NotFoundHttpException", "The requested resource could not be found on the server.", 0}},
		{fault.Failure{Status: 409, Message: "busy"}, result{409, "ConflictHttpException", "busy", 0}},
		{fault.Failure{Status: 422, Message: "The name field is required."}, result{422, "ValidationException", "The name field is required.", 0}},
		{fault.Failure{Status: 423}, result{423, "HttpException", "Locked", 0}},
		{fault.Failure{Status: 429, RetryAfter: 3 * time.Second}, result{429, "TooManyRequestsHttpException", "Too Many Attempts.", 3 * time.Second}},
		{fault.Failure{Status: 500}, result{500, "HttpException", "An unexpected error was encountered while processing this request, please try again.", 0}},
		{fault.Failure{Status: 503}, result{503, "ServiceUnavailableHttpException", "Service Unavailable", 0}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.failure.Status), func(t *testing.T) {
			t.Parallel()
			b := setup(t, fakepterodactyl.Options{})
			b.fake.FailNext("POST /api/application/servers/{id}/suspend", tt.failure)
			err := b.client.SuspendServer(t.Context(), 1)
			e, ok := pt.AsError(err)
			if !ok {
				t.Fatalf("want *Error, got %v", err)
			}
			if diff := cmp.Diff(tt.want, result{e.StatusCode, e.Code, e.Message, e.RetryAfter}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{ApplicationRateLimit: 2})

	for range 2 {
		if _, err := b.client.Nests(t.Context(), pt.ListOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := b.client.Nests(t.Context(), pt.ListOptions{})
	if d, ok := pt.RetryAfter(err); !pt.IsRateLimited(err) || !ok || d <= 0 || d > time.Minute {
		t.Fatalf("third call: %v", err)
	}
	// The client API has its own budget.
	s, _ := pt.New(pt.Config{BaseURL: b.url, ApplicationKey: "x", ClientKey: fakepterodactyl.DefaultClientKey})
	if err := s.Power(t.Context(), "nope0000", pt.SignalStart); !pt.IsNotFound(err) {
		t.Fatalf("client API after the application budget ran out: %v", err)
	}
	b.fake.SetRateLimits(0, 0)
	if _, err := b.client.Nests(t.Context(), pt.ListOptions{}); err != nil {
		t.Fatalf("after disabling the limit: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})

	b.fake.SetLatency(fault.Any, time.Second)
	c, _ := pt.New(pt.Config{BaseURL: b.url, ApplicationKey: fakepterodactyl.DefaultApplicationKey, Timeout: 50 * time.Millisecond})
	if _, err := c.Nests(t.Context(), pt.ListOptions{}); !pt.IsTransport(err) {
		t.Fatalf("timeout: %v", err)
	}
}

// TestBackups: the Client API's backups through the client: start, read,
// list (every page), the panel's refusal past the server's limit with its
// exception code, and delete.
func TestBackups(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{BackupDuration: time.Hour})
	ctx := t.Context()
	s, err := b.client.CreateServer(ctx, serverRequest(1, 1, "svc-1"))
	if err != nil {
		t.Fatal(err)
	}

	first, err := b.client.CreateBackup(ctx, s.Identifier, pt.BackupRequest{Name: "nightly", Ignored: "logs\ncache"})
	if err != nil {
		t.Fatal(err)
	}
	if first.Name != "nightly" || first.CompletedAt != nil || !first.Counts() || !cmp.Equal(first.IgnoredFiles, []string{"logs", "cache"}) {
		t.Errorf("new backup %+v", first)
	}
	got, err := b.client.Backup(ctx, s.Identifier, first.UUID)
	if err != nil || got.UUID != first.UUID {
		t.Fatalf("Backup: %+v, %v", got, err)
	}
	if _, err := b.client.CreateBackup(ctx, s.Identifier, pt.BackupRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err = b.client.CreateBackup(ctx, s.Identifier, pt.BackupRequest{})
	if e, _ := pt.AsError(err); e == nil || e.StatusCode != 400 || e.Code != "TooManyBackupsException" {
		t.Fatalf("a backup past the limit: %v", err)
	}
	all, err := b.client.AllBackups(ctx, s.Identifier)
	if err != nil || len(all) != 2 || !strings.HasPrefix(all[1].Name, "Backup at ") {
		t.Fatalf("AllBackups: %+v, %v", all, err)
	}
	if err := b.client.DeleteBackup(ctx, s.Identifier, first.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.Backup(ctx, s.Identifier, first.UUID); !pt.IsNotFound(err) {
		t.Errorf("deleted backup: %v", err)
	}
}
