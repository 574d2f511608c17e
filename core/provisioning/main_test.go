package provisioning_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/jobs/jobstest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// call is one provisioner call the stub saw.
type call struct {
	Op, ServiceID, Key, Action string
}

// stubProv is an in-memory provisioner: it records every call, keeps each
// service's backend state, and fails on demand.
type stubProv struct {
	sdk.ProvisionerClient // unimplemented calls panic

	mu    sync.Mutex
	calls []call
	state map[string]string // service id → active, suspended, terminated
	fail  func(c call) error
	usage map[string]*pb.UsageResponse
	// told is the service as each call described it, by op + " " + id.
	told     map[string]*pb.ServiceRef
	inFlight int
	maxIn    int
	delay    time.Duration
}

func newStubProv() *stubProv {
	return &stubProv{state: map[string]string{}, usage: map[string]*pb.UsageResponse{}, told: map[string]*pb.ServiceRef{}}
}

// tell records how a call of op described its service.
func (p *stubProv) tell(op string, ref *pb.ServiceRef) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.told[op+" "+ref.GetServiceId()] = proto.Clone(ref).(*pb.ServiceRef)
}

// toldBy returns how the last call of op described the service.
func (p *stubProv) toldBy(op, serviceID string) *pb.ServiceRef {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.told[op+" "+serviceID]
}

func (p *stubProv) record(c call) error {
	p.mu.Lock()
	p.calls = append(p.calls, c)
	fail := p.fail
	p.mu.Unlock()
	if fail != nil {
		return fail(c)
	}
	return nil
}

func (p *stubProv) Calls(op string) []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []call
	for _, c := range p.calls {
		if op == "" || c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

func (p *stubProv) State(serviceID string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state[serviceID]
}

func (p *stubProv) SetFail(f func(c call) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = f
}

func (p *stubProv) setState(id, st string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state[id] = st
}

func (p *stubProv) Create(_ context.Context, r *pb.CreateRequest) (*pb.CreateResponse, error) {
	id := r.GetService().GetServiceId()
	p.tell("create", r.GetService())
	if err := p.record(call{Op: "create", ServiceID: id, Key: r.GetIdempotencyKey()}); err != nil {
		return nil, err
	}
	p.setState(id, "active")
	return &pb.CreateResponse{Status: &pb.ServiceStatus{ExternalId: "ext-" + id, State: pb.ServiceState_SERVICE_STATE_ACTIVE}}, nil
}

func (p *stubProv) Suspend(_ context.Context, r *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	id := r.GetService().GetServiceId()
	if err := p.record(call{Op: "suspend", ServiceID: id, Key: r.GetIdempotencyKey()}); err != nil {
		return nil, err
	}
	p.setState(id, "suspended")
	return &pb.SuspendResponse{}, nil
}

func (p *stubProv) Unsuspend(_ context.Context, r *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	id := r.GetService().GetServiceId()
	if err := p.record(call{Op: "unsuspend", ServiceID: id, Key: r.GetIdempotencyKey()}); err != nil {
		return nil, err
	}
	p.setState(id, "active")
	return &pb.UnsuspendResponse{}, nil
}

func (p *stubProv) Terminate(_ context.Context, r *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	id := r.GetService().GetServiceId()
	if err := p.record(call{Op: "terminate", ServiceID: id, Key: r.GetIdempotencyKey()}); err != nil {
		return nil, err
	}
	p.setState(id, "terminated")
	return &pb.TerminateResponse{}, nil
}

func (p *stubProv) Power(_ context.Context, r *pb.PowerRequest) (*pb.PowerResponse, error) {
	id := r.GetService().GetServiceId()
	if err := p.record(call{Op: "power", ServiceID: id, Key: r.GetIdempotencyKey(), Action: r.GetAction().String()}); err != nil {
		return nil, err
	}
	return &pb.PowerResponse{Status: &pb.ServiceStatus{ExternalId: r.GetService().GetExternalId(), State: pb.ServiceState_SERVICE_STATE_ACTIVE}}, nil
}

func (p *stubProv) LoginURL(_ context.Context, r *pb.LoginURLRequest) (*pb.LoginURLResponse, error) {
	id := r.GetService().GetServiceId()
	if err := p.record(call{Op: "login", ServiceID: id}); err != nil {
		return nil, err
	}
	return &pb.LoginURLResponse{Url: "https://panel.test/sso/" + id, ExpiresAt: timestamppb.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))}, nil
}

func (p *stubProv) Usage(ctx context.Context, r *pb.UsageRequest) (*pb.UsageResponse, error) {
	id := r.GetService().GetServiceId()
	p.mu.Lock()
	p.inFlight++
	p.maxIn = max(p.maxIn, p.inFlight)
	delay := p.delay
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inFlight--
		p.mu.Unlock()
	}()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p.tell("usage", r.GetService())
	if err := p.record(call{Op: "usage", ServiceID: id, Key: r.GetService().GetExternalId()}); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if u, ok := p.usage[id]; ok {
		return u, nil
	}
	return &pb.UsageResponse{CpuPercent: 12.345, RamUsedBytes: 512 << 20, RamTotalBytes: 1 << 30, DiskUsedBytes: 3 << 30, DiskTotalBytes: 10 << 30,
		BandwidthInBytes: 1000, BandwidthOutBytes: 2000, BandwidthLimitBytes: 200 << 30}, nil
}

// stubHost serves one stubProv under every plugin name; caps says what
// each name describes (default: power, login_url and usage); every name
// declares stubOptions.
type stubHost struct {
	prov *stubProv
	mu   sync.Mutex
	caps map[string][]string
}

func (h *stubHost) Provisioner(string) (sdk.ProvisionerClient, error) { return h.prov, nil }

func (h *stubHost) PaymentGateway(string) (sdk.PaymentGateway, error) {
	return nil, sdk.Errorf(sdk.NotSupported, "no gateway in these tests")
}

func (h *stubHost) Get(name string) (pluginhost.Info, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	caps, ok := h.caps[name]
	if !ok {
		caps = []string{string(sdk.CapPower), string(sdk.CapLoginURL), string(sdk.CapUsage)}
	}
	return pluginhost.Info{Name: name, Version: "1.0.0", Capabilities: caps, Options: stubOptions, State: pluginhost.StateRunning}, nil
}

// stubOptions is what every stub plugin declares it reads: the plans'
// package_id, and a disk size add-ons set.
var stubOptions = sdk.Options{sdk.IntOption("package_id", "package").OnPlan().AtLeast(1), sdk.IntOption("disk_gb", "disk size").OnPlan().AtLeast(1)}

func (h *stubHost) setCaps(name string, caps ...sdk.Capability) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.caps == nil {
		h.caps = map[string][]string{}
	}
	list := []string{}
	for _, c := range caps {
		list = append(list, string(c))
	}
	h.caps[name] = list
}

type testBundle struct {
	db       *database.DB
	b        *billing.Billing
	svcs     *services.Services
	cat      *catalog.Catalog
	p        *provisioning.Service
	prov     *stubProv
	host     *stubHost
	notify   *notify.Service
	accounts *accounts.Service
	clock    *testkit.Clock
	ctx      context.Context
}

type setupOpts struct {
	// tune changes provisioning's settings from its defaults (production's).
	tune   func(*provisioning.Options)
	noJobs bool
}

// setup builds billing and provisioning over db with the stub provisioner
// and the job engine started, the clock at 2026-01-10 09:00 UTC.
func setup(t testing.TB, db *database.DB, so setupOpts) *testBundle {
	t.Helper()
	tb := &testBundle{db: db, clock: testkit.NewClock(time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)), prov: newStubProv()}
	tb.host = &stubHost{prov: tb.prov}
	tb.ctx = audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "test"})
	reg := jobs.NewRegistry(time.Hour)
	ns, err := notify.New(db, reg, notify.Options{PublicURL: "http://portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Stop)
	tb.notify = ns
	tb.cat = catalog.New(catalog.Deps{DB: db, Plugins: tb.host, PlanGuard: billing.KeepsBackendInUse}, catalog.Options{Now: tb.clock.Now})
	directory := accounts.New(db, ns, ratelimit.New(db), accounts.DefaultOptions())
	tb.svcs = services.New(services.Deps{DB: db, Jobs: reg, Notifier: ns, Catalog: tb.cat, Accounts: directory},
		services.Options{Now: tb.clock.Now, ProvisionMaxAttempts: 3})
	tb.b = billing.New(billing.Deps{Services: tb.svcs, DB: db, Catalog: tb.cat, Jobs: reg, Notifier: ns},
		billing.Options{Now: tb.clock.Now, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond})
	opts := provisioning.DefaultOptions()
	opts.Now = tb.clock.Now
	// The tests sweep and collect usage by hand, on their clock, rather
	// than on the periodic jobs' wall-clock schedule.
	opts.SweepInterval, opts.UsageInterval = -1, 0
	if so.tune != nil {
		so.tune(&opts)
	}
	tb.accounts = accounts.New(db, ns, ratelimit.New(db), accounts.Options{
		SessionTTL: time.Hour, LoginLimit: 1000, LoginWindow: time.Minute, SignupLimit: 1000, ResetTokenTTL: time.Hour,
		TOTPIssuer: "test", PublicURL: "http://portal.test",
	})
	tb.p = provisioning.New(provisioning.Deps{Services: tb.svcs, DB: db, Jobs: reg, Billing: tb.b, Catalog: tb.cat, Accounts: tb.accounts, Plugins: tb.host, Notifier: ns}, opts)
	tb.p.Attach(tb.b)
	engine, err := jobs.New(db, reg, jobstest.Working(20))
	if err != nil {
		t.Fatal(err)
	}
	if !so.noJobs {
		jobstest.Start(t, engine)
	}
	return tb
}

// customer is a signed-up user and their account.
type customer struct {
	UserID, AccountID, Email string
}

// customer signs a user up; verified and totp set their security.
func (tb *testBundle) customer(t testing.TB, verified, totp bool) customer {
	t.Helper()
	email := fmt.Sprintf("c-%x@example.com", rand.Uint64())
	u, acc, err := tb.accounts.Signup(tb.ctx, accounts.SignupInput{Email: email, Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	c := customer{UserID: u.ID, AccountID: acc.ID, Email: email}
	tb.secure(t, c, verified, totp)
	return c
}

// secure sets the user's verified email and two-factor flags (as if they
// had confirmed the address and enrolled an authenticator).
func (tb *testBundle) secure(t testing.TB, c customer, verified, totp bool) {
	t.Helper()
	if err := accountstest.Secure(tb.ctx, tb.db, c.UserID, verified, totp); err != nil {
		t.Fatal(err)
	}
}

// as is a context acting as the customer's user (what the HTTP layer
// puts in a request's context).
func (c customer) as(ctx context.Context) context.Context {
	m := audit.MetaFrom(ctx)
	m.ActorType, m.ActorID = audit.ActorUser, c.UserID
	return audit.WithMeta(ctx, m)
}

// plan creates an active plan on the stub provisioner ("stub" plugin
// unless plugin is set).
func (tb *testBundle) plan(t testing.TB, slug string, monthly int64, free bool, plugin string) *catalog.Plan {
	t.Helper()
	if plugin == "" {
		plugin = "stub"
	}
	p, err := tb.cat.CreatePlan(tb.ctx, catalog.PlanInput{
		Slug: slug, Name: "Plan " + slug, ServiceType: "vps", Currency: "USD", MonthlyPrice: monthly, FreeTier: free,
		Plugin: plugin, PluginOptions: map[string]string{"package_id": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (tb *testBundle) credit(t testing.TB, accountID string, amount int64) {
	t.Helper()
	if _, err := tb.b.Adjust(tb.ctx, accountID, billing.AdjustInput{Amount: amount, Description: "test credit"}); err != nil {
		t.Fatal(err)
	}
}

// order orders a plan for the customer and waits until it is active.
func (tb *testBundle) order(t testing.TB, c customer, plan *catalog.Plan) *billing.Service {
	t.Helper()
	res, err := tb.b.Order(c.as(tb.ctx), c.AccountID, billing.OrderInput{PlanID: plan.ID})
	if err != nil {
		t.Fatalf("order %s: %v", plan.Slug, err)
	}
	return tb.waitService(t, res.Service.ID, services.StatusActive)
}

func (tb *testBundle) waitService(t testing.TB, id, status string) *billing.Service {
	t.Helper()
	var svc *billing.Service
	testkit.WaitFor(t, "service "+id+" to be "+status, func() bool {
		var err error
		if svc, err = tb.b.Service(tb.ctx, "", id); err != nil {
			t.Fatal(err)
		}
		return svc.Status == status
	})
	return svc
}

// auditEvents lists (action, result) of the audit events about a target.
func (tb *testBundle) auditEvents(t testing.TB, targetID, prefix string) []string {
	t.Helper()
	var rows []struct {
		Action string `bun:"action"`
		Result string `bun:"result"`
	}
	if err := tb.db.NewSelect().Table("audit_events").Column("action", "result").Where("target_id = ?", targetID).
		Where("action LIKE ?", prefix+"%").Order("seq ASC").Scan(tb.ctx, &rows); err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Action+":"+r.Result)
	}
	return out
}
