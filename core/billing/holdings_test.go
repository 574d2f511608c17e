package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/community"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// fakeCommunity stands in for the discord plugin: every Discord id is a
// member, and each SyncRoles call is handed to the test.
type fakeCommunity struct{ syncs chan *pb.SyncRolesRequest }

func (f *fakeCommunity) Community(string) (sdk.Community, error) { return f, nil }
func (f *fakeCommunity) CreateInvite(context.Context, *pb.CreateInviteRequest) (*pb.CreateInviteResponse, error) {
	return &pb.CreateInviteResponse{Url: "https://discord.gg/x", Code: "x"}, nil
}
func (f *fakeCommunity) LinkUser(context.Context, *pb.LinkUserRequest) (*pb.LinkUserResponse, error) {
	return &pb.LinkUserResponse{DisplayName: "Ada"}, nil
}
func (f *fakeCommunity) SyncRoles(_ context.Context, r *pb.SyncRolesRequest) (*pb.SyncRolesResponse, error) {
	select {
	case f.syncs <- r:
	default: // the test has stopped reading
	}
	return &pb.SyncRolesResponse{}, nil
}

// await reads SyncRoles calls until one asks for roles (sorted); syncs of
// one user may repeat a state (a sync re-checks the holdings after its
// call), so calls with other roles on the way are skipped.
func (f *fakeCommunity) await(t *testing.T, what string, roles ...string) {
	t.Helper()
	want := append([]string{}, roles...)
	deadline := time.After(testkit.WaitBound)
	for {
		select {
		case r := <-f.syncs:
			if cmp.Equal(want, append([]string{}, r.GetDesiredRoles()...)) {
				return
			}
		case <-deadline:
			t.Fatalf("%s: no SyncRoles call with roles %v", what, want)
		}
	}
}

// TestCommunityRolesFollowServices: wired as core/app wires them (billing
// is the community's HoldingsProvider and asks it for a role sync on every
// service status change), a linked member of an account gets the vps role in the
// Discord community when the account's VPS becomes active, and loses it
// when the VPS is suspended.
func TestCommunityRolesFollowServices(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		fc := &fakeCommunity{syncs: make(chan *pb.SyncRolesRequest, 256)}
		var cs *community.Service
		tb := setup(t, db, setupOpts{wire: func(tb *testBundle) {
			dir := accounts.New(db, tb.notify, ratelimit.New(db), accounts.DefaultOptions())
			cs = community.New(community.Deps{DB: db, Jobs: tb.reg, Plugins: fc, Holdings: tb.svcs, Accounts: dir},
				community.Options{Plugin: "discord"})
			tb.svcs.SyncRolesOn(cs)
		}})
		acc, owner := tb.owner(t)
		const discordID = "111111111111111111"
		if _, err := cs.Link(tb.ctx, owner, discordID); err != nil {
			t.Fatal(err)
		}
		fc.await(t, "after linking, nothing held")

		plan := tb.plan(t, "vps-roles", 999, nil)
		tb.credit(t, acc, 5000)
		res, err := tb.b.Order(tb.ctx, acc, billing.OrderInput{PlanID: plan.ID})
		if err != nil {
			t.Fatal(err)
		}
		tb.waitService(t, res.Service.ID, services.StatusActive)
		fc.await(t, "the VPS is active", "vps")

		if _, err := tb.svcs.Suspend(tb.ctx, res.Service.ID, services.SuspendAdmin, "test"); err != nil {
			t.Fatal(err)
		}
		fc.await(t, "the VPS is suspended")
	})
}
