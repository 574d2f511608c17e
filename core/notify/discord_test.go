package notify_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// fakeCommunity stands in for the discord plugin's community kind.
type fakeCommunity struct {
	mu      sync.Mutex
	members map[string]string // discord id → display name
	invites []*pb.CreateInviteRequest
	syncs   []*pb.SyncRolesRequest
	synced  chan struct{}
	// hold, when set, keeps each SyncRoles call waiting until it is closed.
	hold chan struct{}
}

func newFakeCommunity() *fakeCommunity {
	return &fakeCommunity{members: map[string]string{"111111111111111111": "Ada", "222222222222222222": "Bob"}, synced: make(chan struct{}, 100)}
}

func (f *fakeCommunity) CreateInvite(_ context.Context, req *pb.CreateInviteRequest) (*pb.CreateInviteResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invites = append(f.invites, req)
	return &pb.CreateInviteResponse{Url: "https://discord.gg/abc123", Code: "abc123",
		ExpiresAt: timestamppb.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))}, nil
}

func (f *fakeCommunity) SyncRoles(_ context.Context, req *pb.SyncRolesRequest) (*pb.SyncRolesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs = append(f.syncs, req)
	f.synced <- struct{}{}
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		<-hold
	}
	f.mu.Lock()
	return &pb.SyncRolesResponse{Added: req.GetDesiredRoles()}, nil
}

func (f *fakeCommunity) LinkUser(_ context.Context, req *pb.LinkUserRequest) (*pb.LinkUserResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, ok := f.members[req.GetUserExternalId()]
	if !ok {
		return nil, sdk.Errorf(sdk.NotFound, "unknown member")
	}
	return &pb.LinkUserResponse{DisplayName: name}, nil
}

func (f *fakeCommunity) syncRequests() []*pb.SyncRolesRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*pb.SyncRolesRequest(nil), f.syncs...)
}

type fakePlugins struct {
	community *fakeCommunity
	notifier  sdk.Notifier
}

func (p *fakePlugins) Notifier(name string) (sdk.Notifier, error) {
	if p.notifier == nil || name != "discord" {
		return nil, errors.New("no such plugin")
	}
	return p.notifier, nil
}

func (p *fakePlugins) Community(name string) (sdk.Community, error) {
	if name != "discord" {
		return nil, errors.New("no such plugin")
	}
	return p.community, nil
}

// TestSignupInvite: a new user gets a single-use 24 h invite, created by a
// job outside the signup transaction; without a community plugin nothing
// is scheduled.
func TestSignupInvite(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		fc := newFakeCommunity()
		b := setup(t, db, setupOpts{opts: notify.Options{CommunityPlugin: "discord", Plugins: &fakePlugins{community: fc}}, start: true})
		u := createUser(t, db, "ada")
		acct := createAccount(t, db, map[user]string{u: "owner"})
		ctx := context.Background()
		if err := db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error { return b.svc.OnSignup(ctx, tx, u.ID, acct) }); err != nil {
			t.Fatal(err)
		}
		var st *notify.DiscordStatus
		testkit.WaitFor(t, "the invite", func() bool {
			var err error
			st, err = b.svc.Discord(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return st.Invite != nil
		})
		if st.Invite.URL != "https://discord.gg/abc123" || !st.Invite.ExpiresAt.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("invite %+v", st.Invite)
		}
		fc.mu.Lock()
		want := []*pb.CreateInviteRequest{{IdempotencyKey: "signup-invite:" + u.ID, AccountId: acct, MaxAge: durationOf(24 * time.Hour)}}
		if diff := cmp.Diff(want, fc.invites, protocmp.Transform()); diff != "" {
			t.Errorf("CreateInvite calls (-want +got):\n%s", diff)
		}
		fc.mu.Unlock()

		off := setup(t, db, setupOpts{})
		var jobs int
		err := db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if err := off.svc.OnSignup(ctx, tx, u.ID, acct); err != nil {
				return err
			}
			return tx.NewSelect().Table("river_job").ColumnExpr("count(*)").Where("kind = 'notify_discord_invite'").Scan(ctx, &jobs)
		})
		if err != nil || jobs != 1 {
			t.Errorf("without a community plugin: %d invite jobs (want the 1 from before), %v", jobs, err)
		}
	})
}

// TestLinkAndRoleSync: linking checks membership through the plugin, is
// unique per Discord account, and syncs roles computed from holdings;
// unlinking takes the managed roles back.
func TestLinkAndRoleSync(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		fc := newFakeCommunity()
		b := setup(t, db, setupOpts{opts: notify.Options{CommunityPlugin: "discord", Plugins: &fakePlugins{community: fc}}, start: true})
		b.svc.SetHoldings(notify.HoldingsFunc(func(ctx context.Context, userID string) (notify.Holdings, error) {
			return notify.Holdings{VPS: true, VIP: true}, nil
		}))
		ctx := context.Background()
		ada := createUser(t, db, "ada")
		bob := createUser(t, db, "bob")
		createAccount(t, db, map[user]string{ada: "owner"})

		if _, err := b.svc.LinkDiscord(ctx, ada.ID, "333333333333333333"); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("linking a non-member: %v, want not found", err)
		}
		if _, err := b.svc.LinkDiscord(ctx, ada.ID, "12ab"); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("linking a malformed id: %v, want invalid", err)
		}
		link, err := b.svc.LinkDiscord(ctx, ada.ID, "111111111111111111")
		if err != nil {
			t.Fatal(err)
		}
		if link.DisplayName != "Ada" {
			t.Errorf("display name %q", link.DisplayName)
		}
		if _, err := b.svc.LinkDiscord(ctx, bob.ID, "111111111111111111"); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("linking ada's Discord account to bob: %v, want conflict", err)
		}
		testkit.WaitFor(t, "roles recorded", func() bool {
			st, err := b.svc.Discord(ctx, ada.ID)
			if err != nil {
				t.Fatal(err)
			}
			return st.Link != nil && st.Link.SyncedAt != nil
		})
		st, _ := b.svc.Discord(ctx, ada.ID)
		if diff := cmp.Diff([]string{"vip", "vps"}, st.Roles); diff != "" {
			t.Errorf("roles (-want +got):\n%s", diff)
		}

		if err := b.svc.UnlinkDiscord(ctx, ada.ID); err != nil {
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
		if err := b.svc.UnlinkDiscord(ctx, ada.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("second unlink: %v", err)
		}
	})
}

// TestRoleSyncRequestedDuringASync: a change of holdings whose sync is
// requested while a sync of the same user is running, after that sync read
// the holdings, still reaches Discord: a running job does not swallow the
// request.
func TestRoleSyncRequestedDuringASync(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		fc := newFakeCommunity()
		b := setup(t, db, setupOpts{opts: notify.Options{CommunityPlugin: "discord", Plugins: &fakePlugins{community: fc}}, start: true})
		fc.hold = make(chan struct{})
		var vps atomic.Bool
		b.svc.SetHoldings(notify.HoldingsFunc(func(context.Context, string) (notify.Holdings, error) {
			return notify.Holdings{VPS: vps.Load()}, nil
		}))
		ctx := context.Background()
		// The periodic resync of every link runs once at start; once it
		// has, nothing but this test's requests syncs roles.
		testkit.WaitFor(t, "the resync at start", func() bool {
			n, err := db.NewSelect().Table("river_job").Where("kind = 'notify_discord_roles_all'").Where("state = 'completed'").Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n > 0
		})
		ada := createUser(t, db, "ada")
		acct := createAccount(t, db, map[user]string{ada: "owner"})
		if _, err := b.svc.LinkDiscord(ctx, ada.ID, "111111111111111111"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-fc.synced: // the link's sync is at Discord, holding nothing
		case <-time.After(60 * time.Second):
			t.Fatal("the link's sync never reached the plugin")
		}
		vps.Store(true)
		if err := db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error { return b.svc.RequestRoleSync(ctx, tx, acct) }); err != nil {
			t.Fatal(err)
		}
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
	u := createUser(t, db, "ada")
	if _, err := b.svc.LinkDiscord(context.Background(), u.ID, "111111111111111111"); apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("link without community: %v", err)
	}
	st, err := b.svc.Discord(context.Background(), u.ID)
	if err != nil || st.Enabled {
		t.Errorf("status %+v, %v", st, err)
	}
}

// TestAdminAlertsGoToTheWebhook: admin alert types post once to the
// plugin's own webhook, with no user.
func TestAdminAlertsGoToTheWebhook(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	b := setup(t, db, setupOpts{opts: notify.Options{DiscordPlugin: "discord", AdminAlerts: []notify.Type{notify.ServiceFailed}}})
	u := createUser(t, db, "ada")
	acct := createAccount(t, db, map[user]string{u: "owner"})
	b.notifyTx(t, notify.Event{Type: notify.ServiceFailed, AccountID: acct, Data: map[string]any{"service_name": "vps-1", "reason": "node down"}, Link: "/services/s1"})
	b.notifyTx(t, notify.Event{Type: notify.AdminAlert, Data: map[string]any{"title": "Plugin down", "message": "virtfusion failed"}})
	var ms []outbox.Message
	if err := db.NewSelect().Model(&ms).Where("channel = 'discord'").Order("created_at").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	type row struct {
		UserID             *string
		Recipient, Subject string
		Text               string
	}
	got := make([]row, len(ms))
	for i, m := range ms {
		got[i] = row{m.UserID, m.Recipient, m.Subject, m.BodyText}
	}
	want := []row{
		{nil, "default", "A problem with vps-1", "Service vps-1 failed: node down. Our team has been alerted.\n\nhttps://billing.example.com/services/s1"},
		{nil, "default", "Plugin down", "virtfusion failed"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discord messages (-want +got):\n%s", diff)
	}
	if _, err := notify.New(db, b.outbox, nil, notify.Options{AdminAlerts: []notify.Type{"nope"}}); err == nil {
		t.Error("an unknown admin alert type was accepted")
	}
}

type recordingNotifier struct{ got *pb.DeliverRequest }

func (r *recordingNotifier) Deliver(_ context.Context, req *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	r.got = req
	return &pb.DeliverResponse{ProviderMessageId: "p1"}, nil
}

// TestNotifierSender: outbox messages become DeliverRequests keyed by the
// message id, headers included.
func TestNotifierSender(t *testing.T) {
	t.Parallel()
	rn := &recordingNotifier{}
	s := &notify.NotifierSender{Lookup: func() (sdk.Notifier, error) { return rn, nil }}
	uid := "u1"
	err := s.Send(context.Background(), &outbox.Message{
		ID: "m1", UserID: &uid, Channel: "email", Recipient: "ada@example.com", Category: "marketing", Subject: "Hi",
		BodyText: "t", BodyHTML: "<p>h</p>", Headers: map[string]string{"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.DeliverRequest{IdempotencyKey: "m1", Channel: "email", Recipient: "ada@example.com", Subject: "Hi", TextBody: "t",
		HtmlBody: "<p>h</p>", Category: "marketing", Headers: map[string]string{"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}
	if diff := cmp.Diff(want, rn.got, protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func durationOf(d time.Duration) *durationpb.Duration { return durationpb.New(d) }
