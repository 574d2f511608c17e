package community_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/community"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// TestSignupInvite: signing up gives the new user a single-use 24 h
// invite, created by a job outside the signup transaction and naming the
// user's account; without a community plugin nothing is scheduled.
func TestSignupInvite(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		fc := newFakeCommunity()
		b := setup(t, db, setupOpts{opts: community.Options{Plugin: "discord"}, plugins: plugins{fc}, start: true})
		ada, acct := b.signup(t, "ada")
		ctx := context.Background()
		var st *community.Status
		testkit.WaitFor(t, "the invite", func() bool {
			var err error
			st, err = b.svc.Status(ctx, ada)
			if err != nil {
				t.Fatal(err)
			}
			return st.Invite != nil
		})
		if st.Invite.URL != "https://discord.gg/abc123" || !st.Invite.ExpiresAt.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("invite %+v", st.Invite)
		}
		want := []*pb.CreateInviteRequest{{IdempotencyKey: "signup-invite:" + ada, AccountId: acct, MaxAge: durationpb.New(24 * time.Hour)}}
		if diff := cmp.Diff(want, fc.inviteRequests(), protocmp.Transform()); diff != "" {
			t.Errorf("CreateInvite calls (-want +got):\n%s", diff)
		}

		off := setup(t, db, setupOpts{})
		before := inviteJobs(t, db)
		off.signup(t, "bob")
		if n := inviteJobs(t, db); n != before {
			t.Errorf("without a community plugin a signup queued %d invite jobs", n-before)
		}
	})
}

func inviteJobs(t *testing.T, db *database.DB) int64 {
	t.Helper()
	n, err := db.NewSelect().Table("river_job").Where("kind = 'notify_discord_invite'").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLinkAndRoleSync: linking checks membership through the plugin, is
// unique per Discord account, and syncs roles computed from holdings;
// unlinking takes the managed roles back.
func TestLinkAndRoleSync(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		fc := newFakeCommunity()
		b := setup(t, db, setupOpts{opts: community.Options{Plugin: "discord"}, plugins: plugins{fc}, start: true})
		b.holdings.Store(&community.Holdings{VPS: true, VIP: true})
		ctx := context.Background()
		// The periodic resync of every link runs once at start; once it
		// has, only this test's link and unlink sync roles.
		waitResyncAtStart(t, db)
		ada, _ := b.signup(t, "ada")
		bob, _ := b.signup(t, "bob")

		if _, err := b.svc.Link(ctx, ada, "333333333333333333"); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("linking a non-member: %v, want not found", err)
		}
		if _, err := b.svc.Link(ctx, ada, "12ab"); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("linking a malformed id: %v, want invalid", err)
		}
		link, err := b.svc.Link(ctx, ada, "111111111111111111")
		if err != nil {
			t.Fatal(err)
		}
		if link.DisplayName != "Ada" {
			t.Errorf("display name %q", link.DisplayName)
		}
		if _, err := b.svc.Link(ctx, bob, "111111111111111111"); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("linking ada's Discord account to bob: %v, want conflict", err)
		}
		testkit.WaitFor(t, "roles recorded", func() bool {
			st, err := b.svc.Status(ctx, ada)
			if err != nil {
				t.Fatal(err)
			}
			return st.Link != nil && st.Link.SyncedAt != nil
		})
		st, _ := b.svc.Status(ctx, ada)
		if diff := cmp.Diff([]string{"vip", "vps"}, st.Roles); diff != "" {
			t.Errorf("roles (-want +got):\n%s", diff)
		}

		if err := b.svc.Unlink(ctx, ada); err != nil {
			t.Fatal(err)
		}
		testkit.WaitFor(t, "roles cleared", func() bool { return len(fc.syncRequests()) == 2 })
		want := []*pb.SyncRolesRequest{
			{UserExternalId: "111111111111111111", DesiredRoles: []string{"vip", "vps"}},
			{UserExternalId: "111111111111111111", DesiredRoles: []string{}},
		}
		if diff := cmp.Diff(want, fc.syncRequests(), protocmp.Transform()); diff != "" {
			t.Errorf("SyncRoles calls (-want +got):\n%s", diff)
		}
		if err := b.svc.Unlink(ctx, ada); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("second unlink: %v", err)
		}
	})
}

// TestRoleSyncRequestedDuringASync: a change of holdings whose sync is
// requested while a sync of the same user is running, after that sync read
// the holdings, still reaches Discord: a running job does not swallow the
// request. A request for an account reaches only its linked members.
func TestRoleSyncRequestedDuringASync(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		fc := newFakeCommunity()
		b := setup(t, db, setupOpts{opts: community.Options{Plugin: "discord"}, plugins: plugins{fc}, start: true})
		ctx := context.Background()
		// The periodic resync of every link runs once at start; once it
		// has, nothing but this test's requests syncs roles.
		waitResyncAtStart(t, db)
		fc.mu.Lock()
		fc.hold = make(chan struct{})
		fc.mu.Unlock()
		ada, acct := b.signup(t, "ada")
		_, other := b.signup(t, "bob")
		if _, err := b.svc.Link(ctx, ada, "111111111111111111"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-fc.synced: // the link's sync is at Discord, holding nothing
		case <-time.After(testkit.WaitBound):
			t.Fatal("the link's sync never reached the plugin")
		}
		b.holdings.Store(&community.Holdings{VPS: true})
		inTx(t, db, func(ctx context.Context, tx bun.Tx) error { return b.svc.RequestRoleSync(ctx, tx, other) })
		if n, err := db.NewSelect().Table("discord_role_requests").Count(ctx); err != nil || n != 0 {
			t.Errorf("a sync of an account without linked members recorded %d requests (%v)", n, err)
		}
		inTx(t, db, func(ctx context.Context, tx bun.Tx) error { return b.svc.RequestRoleSync(ctx, tx, acct) })
		close(fc.hold)
		testkit.WaitFor(t, "the vps role synced", func() bool {
			syncs := fc.syncRequests()
			return cmp.Equal([]string{"vps"}, syncs[len(syncs)-1].GetDesiredRoles())
		})
	})
}

// TestCommunityOff: without a community plugin the calls say so.
func TestCommunityOff(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	b := setup(t, db, setupOpts{})
	u, _ := b.signup(t, "ada")
	if _, err := b.svc.Link(context.Background(), u, "111111111111111111"); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("link without community: %v", err)
	}
	st, err := b.svc.Status(context.Background(), u)
	if err != nil || st.Enabled {
		t.Errorf("status %+v, %v", st, err)
	}
}

// refusingCommunity answers every invite with err.
type refusingCommunity struct {
	sdk.Community
	err   atomic.Pointer[error]
	calls atomic.Int32
}

func (c *refusingCommunity) CreateInvite(context.Context, *pb.CreateInviteRequest) (*pb.CreateInviteResponse, error) {
	c.calls.Add(1)
	return nil, *c.err.Load()
}

func refusing(err error) *refusingCommunity {
	c := &refusingCommunity{}
	c.err.Store(&err)
	return c
}

// TestInviteDiscordCannotFindIsNotRetried: an invite job the community
// plugin answers with NotFound cannot heal by waiting: the job is
// cancelled after one call, as for a refused request, instead of being
// retried up to its attempts.
func TestInviteDiscordCannotFindIsNotRetried(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		c := refusing(sdk.Errorf(sdk.NotFound, "unknown guild"))
		b := setup(t, db, setupOpts{opts: community.Options{Plugin: "discord"}, plugins: plugins{c}, start: true})
		b.signup(t, "ada")
		ctx := context.Background()
		testkit.WaitFor(t, "the invite job to be cancelled", func() bool {
			var state string
			_ = db.NewSelect().Table("river_job").Column("state").Where("kind = 'notify_discord_invite'").Scan(ctx, &state)
			return state == "cancelled"
		})
		if n := c.calls.Load(); n != 1 {
			t.Errorf("%d CreateInvite calls, want 1", n)
		}
	})
}

// TestDiscordAnswersPluginErrorsByKind: an invite's plugin errors reach the
// API through the one mapping of plugin errors: a conflict is a 409, a
// refused request a 422 backend_refused, an operation the plugin lacks a
// 422 not_supported, a guild it does not know a 422, an outage a 503.
func TestDiscordAnswersPluginErrorsByKind(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		c := refusing(nil)
		b := setup(t, db, setupOpts{opts: community.Options{Plugin: "discord"}, plugins: plugins{c}})
		u, _ := b.signup(t, "ada")
		type answer struct {
			Code   apperr.Code
			Reason string
		}
		for _, tc := range []struct {
			err  error
			want answer
		}{
			{sdk.Errorf(sdk.Conflict, "invites paused"), answer{apperr.Conflict, "backend_conflict"}},
			{sdk.FieldErrorf("max_age", "too long"), answer{apperr.Unprocessable, "backend_refused"}},
			{sdk.Errorf(sdk.NotSupported, "no bot"), answer{apperr.Unprocessable, "not_supported"}},
			{sdk.Errorf(sdk.NotFound, "unknown guild"), answer{apperr.Unprocessable, "backend_not_found"}},
			{sdk.UnavailableError(0, "gateway down"), answer{apperr.Unavailable, "backend_unavailable"}},
		} {
			c.err.Store(&tc.err)
			_, err := b.svc.NewInvite(context.Background(), u)
			e, _ := apperr.As(err)
			var got answer
			if e != nil {
				got = answer{e.Code, e.Reason}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%v (-want +got):\n%s", tc.err, diff)
			}
		}
	})
}

// waitResyncAtStart waits for the periodic resync of every link, which
// runs once when the job engine starts.
func waitResyncAtStart(t *testing.T, db *database.DB) {
	t.Helper()
	testkit.WaitFor(t, "the resync at start", func() bool {
		n, err := db.NewSelect().Table("river_job").Where("kind = 'notify_discord_roles_all'").Where("state = 'completed'").Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
}

// TestRoleRequestDuringAClaimIsNotLost: a change of holdings whose
// transaction requests a sync while the user's earlier request is still
// pending, and commits only after a sync job began claiming that request,
// is not lost. The request holds the pending row until its transaction
// commits, so the claim waits for it and then reads holdings that include
// the change; a claim that took the row first would leave the change with
// no request and no sync.
func TestRoleRequestDuringAClaimIsNotLost(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		if db.Dialect != database.Postgres {
			t.Skip("SQLite has one writer: a claim cannot run while another transaction writes")
		}
		fc := newFakeCommunity()
		b := setup(t, db, setupOpts{opts: community.Options{Plugin: "discord"}, plugins: plugins{fc}})
		ctx := context.Background()
		ada, acct := b.signup(t, "ada")
		// Linking requests a sync: the pending request the claim takes.
		if _, err := b.svc.Link(ctx, ada, "111111111111111111"); err != nil {
			t.Fatal(err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback() }()
		if err := b.svc.RequestRoleSync(ctx, tx, acct); err != nil {
			t.Fatal(err)
		}
		claimed := make(chan error, 1)
		go func() {
			_, err := community.ClaimRoleSync(ctx, b.svc, ada)
			claimed <- err
		}()
		finishedFirst := false
		testkit.WaitFor(t, "the claim to finish or to wait for the change's transaction", func() bool {
			select {
			case err := <-claimed:
				if err != nil {
					t.Fatal(err)
				}
				finishedFirst = true
				return true
			default:
			}
			var waiting int
			err := db.NewRaw("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ?",
				"%discord_role_requests%"+ada+"%").Scan(ctx, &waiting)
			if err != nil {
				t.Fatal(err)
			}
			return waiting > 0
		})
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if !finishedFirst {
			if err := <-claimed; err != nil {
				t.Fatal(err)
			}
			return // the claim read the holdings after the change committed
		}
		n, err := db.NewSelect().Table("discord_role_requests").Where("user_id = ?", ada).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Error("the claim took the pending request before the change committed and left the change no request: its role sync is lost")
		}
	})
}
