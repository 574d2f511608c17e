package notify_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// refusingCommunity answers every invite with err.
type refusingCommunity struct {
	sdk.Community
	err   error
	calls atomic.Int32
}

func (c *refusingCommunity) CreateInvite(context.Context, *pb.CreateInviteRequest) (*pb.CreateInviteResponse, error) {
	c.calls.Add(1)
	return nil, c.err
}

type communityOnly struct{ c sdk.Community }

func (p communityOnly) Notifier(string) (sdk.Notifier, error) {
	return nil, sdk.Errorf(sdk.NotFound, "no notifier")
}
func (p communityOnly) Community(string) (sdk.Community, error) { return p.c, nil }

// TestInviteDiscordCannotFindIsNotRetried: an invite job the community
// plugin answers with NotFound cannot heal by waiting: the job is
// cancelled after one call, as for a refused request, instead of being
// retried up to its attempts.
func TestInviteDiscordCannotFindIsNotRetried(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		c := &refusingCommunity{err: sdk.Errorf(sdk.NotFound, "unknown guild")}
		b := setup(t, db, setupOpts{opts: notify.Options{CommunityPlugin: "discord", Plugins: communityOnly{c}}, start: true})
		u := createUser(t, db, "ada")
		acct := createAccount(t, db, map[user]string{u: "owner"})
		ctx := context.Background()
		if err := db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error { return b.svc.OnSignup(ctx, tx, u.ID, acct) }); err != nil {
			t.Fatal(err)
		}
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
// API through the one mapping of plugin errors: a conflict is a 409 (was a
// 503), a refused request a 422 backend_refused (was a 400), an operation
// the plugin lacks a 422 not_supported (was a 409), a user it does not
// know a 422 (was a 503).
func TestDiscordAnswersPluginErrorsByKind(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		c := &refusingCommunity{}
		b := setup(t, db, setupOpts{opts: notify.Options{CommunityPlugin: "discord", Plugins: communityOnly{c}}})
		u := createUser(t, db, "ada")
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
			c.err = tc.err
			_, err := b.svc.NewInvite(context.Background(), u.ID)
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
