package community_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/community"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/jobs/jobstest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// bundle is a community wired as core/app wires it: accounts for who is
// in an account (and to sign users up through), holdings the test sets.
type bundle struct {
	db       *database.DB
	svc      *community.Service
	accounts *accounts.Service
	engine   *jobs.Engine
	holdings atomic.Pointer[community.Holdings]
	signedUp atomic.Int32
}

type setupOpts struct {
	opts    community.Options
	plugins community.Plugins
	// start runs the job engine.
	start bool
}

func setup(t testing.TB, db *database.DB, o setupOpts) *bundle {
	t.Helper()
	reg := jobs.NewRegistry(time.Hour)
	ns, err := notify.New(db, reg, notify.Options{PublicURL: "https://billing.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Stop)
	b := &bundle{db: db}
	b.holdings.Store(&community.Holdings{})
	b.accounts = accounts.New(db, ns, ratelimit.New(db), accounts.DefaultOptions())
	b.svc = community.New(community.Deps{
		DB: db, Jobs: reg, Plugins: o.plugins, Accounts: b.accounts,
		Holdings: community.HoldingsFunc(func(context.Context, string) (community.Holdings, error) { return *b.holdings.Load(), nil }),
	}, o.opts)
	b.accounts.OnSignup(b.svc.OnSignup)
	b.engine, err = jobs.New(db, reg, jobstest.Working(20))
	if err != nil {
		t.Fatal(err)
	}
	if o.start {
		jobstest.Start(t, b.engine)
	}
	return b
}

// signup signs a user up through accounts, which gives them an account
// they own; it returns the user's and the account's ids.
func (b *bundle) signup(t testing.TB, name string) (userID, accountID string) {
	t.Helper()
	n := b.signedUp.Add(1)
	u, a, err := b.accounts.Signup(context.Background(), accounts.SignupInput{
		Email: fmt.Sprintf("%s-%d@example.com", name, n), Password: "correct horse battery staple 42",
	})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID, a.ID
}

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
	f.syncs = append(f.syncs, req)
	hold := f.hold
	f.mu.Unlock()
	f.synced <- struct{}{}
	if hold != nil {
		<-hold
	}
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

func (f *fakeCommunity) inviteRequests() []*pb.CreateInviteRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*pb.CreateInviteRequest(nil), f.invites...)
}

// plugins serves one community plugin called discord.
type plugins struct{ c sdk.Community }

func (p plugins) Community(name string) (sdk.Community, error) {
	if name != "discord" {
		return nil, errors.New("no such plugin")
	}
	return p.c, nil
}

// inTx runs f in a transaction.
func inTx(t testing.TB, db *database.DB, f func(ctx context.Context, tx bun.Tx) error) {
	t.Helper()
	if err := db.Tx(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}
