package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// panelClient is an Application API client on the bundle's fake, for
// arranging panel state the way staff would.
func panelClient(t *testing.T, fake *fakepterodactyl.Fake) *pt.Client {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cl, err := pt.New(pt.Config{BaseURL: srv.URL, ApplicationKey: fakepterodactyl.DefaultApplicationKey, ClientKey: fakepterodactyl.DefaultClientKey})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func customerService(id, accountID, email string) *pb.ServiceRef {
	svc := service(id)
	svc.Customer = &pb.Customer{AccountId: accountID, Email: email, Name: "Bob Builder"}
	return svc
}

// TestEmailLookupIsExact: the panel's filter[email] matches substrings, so a
// lookup of bob@example.net also finds xbob@example.net; bob's server must
// go to a panel user of bob's own, never to xbob.
func TestEmailLookupIsExact(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	ctx := t.Context()
	panel := panelClient(t, b.fake)
	xbob, err := panel.CreateUser(ctx, pt.UserRequest{Email: "xbob@example.net", Username: "xbob", FirstName: "X", LastName: "Bob"})
	if err != nil {
		t.Fatal(err)
	}

	r, err := b.p.Create(ctx, &pb.CreateRequest{Service: customerService("svc-bob", "77", "bob@example.net"), IdempotencyKey: "c"})
	if err != nil {
		t.Fatal(err)
	}
	s, _, _ := b.fake.ServerSnapshot(mustID(t, r.GetStatus().GetExternalId()))
	owner, err := panel.User(ctx, s.User)
	if err != nil {
		t.Fatal(err)
	}
	type who struct {
		Email, ExternalID string
		IsXBob            bool
	}
	got := who{owner.Email, "", owner.ID == xbob.ID}
	if owner.ExternalID != nil {
		got.ExternalID = *owner.ExternalID
	}
	if diff := cmp.Diff(who{"bob@example.net", "ezscale-77", false}, got); diff != "" {
		t.Errorf("owner of bob's server (-want +got):\n%s", diff)
	}
}

// TestExistingPanelUserIsNotTakenOverByEmail: a panel user with the
// customer's exact email but no link is not adopted (the customer's email
// may be unverified, and a password reset on the service would then hand
// over that panel account): Create is a Conflict naming the external id
// that links it, creates nothing, and works once staff set that id.
func TestExistingPanelUserIsNotTakenOverByEmail(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	ctx := t.Context()
	panel := panelClient(t, b.fake)
	bob, err := panel.CreateUser(ctx, pt.UserRequest{Email: "Bob@Example.net", Username: "bob", FirstName: "Bob", LastName: "B"})
	if err != nil {
		t.Fatal(err)
	}
	svc := customerService("svc-bob", "77", "bob@example.net")

	_, err = b.p.Create(ctx, &pb.CreateRequest{Service: svc, IdempotencyKey: "c1"})
	if !sdk.IsKind(err, sdk.Conflict) || !strings.Contains(err.Error(), "ezscale-77") {
		t.Fatalf("Create with an unlinked panel user of that email: %v, want Conflict naming ezscale-77", err)
	}
	if n := b.fake.ServerCount(); n != 0 {
		t.Errorf("%d servers created for an unlinked panel user", n)
	}

	// Staff link the panel user to the account.
	if _, err := panel.UpdateUser(ctx, bob.ID, pt.UserRequest{Email: bob.Email, Username: bob.Username, FirstName: bob.FirstName,
		LastName: bob.LastName, ExternalID: "ezscale-77"}); err != nil {
		t.Fatal(err)
	}
	r, err := b.p.Create(ctx, &pb.CreateRequest{Service: svc, IdempotencyKey: "c2"})
	if err != nil {
		t.Fatal(err)
	}
	if s, _, _ := b.fake.ServerSnapshot(mustID(t, r.GetStatus().GetExternalId())); s.User != bob.ID {
		t.Errorf("server owner %d, want the linked panel user %d", s.User, bob.ID)
	}
}

// TestCreateWithoutPortRange: a plan without port_range deploys anywhere in
// the location; the request leaves deploy.port_range out, since the panel
// refuses null (422 "The deploy.port range must be an array."). A plan's
// range is honoured.
func TestCreateWithoutPortRange(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	ctx := t.Context()

	if _, err := b.p.Create(ctx, &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "c1"}); err != nil {
		t.Fatalf("Create without port_range: %v", err)
	}
	ranged := service("svc-2")
	ranged.PlanOptions["port_range"] = "25570-25575"
	r, err := b.p.Create(ctx, &pb.CreateRequest{Service: ranged, IdempotencyKey: "c2"})
	if err != nil {
		t.Fatalf("Create with port_range: %v", err)
	}
	info, err := b.p.GetInfo(ctx, &pb.GetInfoRequest{Service: &pb.ServiceRef{ExternalId: r.GetStatus().GetExternalId()}})
	if err != nil {
		t.Fatal(err)
	}
	if got := info.GetStatus().GetAttributes()["address"]; got != "203.0.113.10:25570" {
		t.Errorf("address %q, want the first free port of the range", got)
	}
}

// TestCreateAfterALostAnswer: the panel creates the server but the answer
// is lost; the retry finds it by its external id instead of creating a
// second one.
func TestCreateAfterALostAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	b.fake.LoseNext("POST /api/application/servers", 1)
	if _, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"}); !sdk.IsKind(err, sdk.Unavailable) {
		t.Fatalf("Create with a lost answer: %v, want Unavailable", err)
	}
	if _, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service("svc-1"), IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if n, posts := b.fake.ServerCount(), b.fake.Calls("POST /api/application/servers"); n != 1 || posts != 1 {
		t.Errorf("%d servers after %d creates, want 1 after 1", n, posts)
	}
}
