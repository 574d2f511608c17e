package scheduler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/intent"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/jobs/jobstest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/provisioning/provisioningtest"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// call is one keyed provisioner call the fake saw.
type call struct {
	Action, Key, ServiceID string
}

// fakeProvisioner records keyed calls and, like a backend, what they did:
// when each service last restarted (reported by GetInfo) and the backups
// and snapshots made (listed by ListBackups). errFunc, when set, decides a
// call's error (after the call took effect when effectFirst is set: the
// backend acted and the answer was lost).
type fakeProvisioner struct {
	sdk.ProvisionerClient
	now         func() time.Time
	mu          sync.Mutex
	calls       []call
	options     map[string]map[string]string // service id → options of its last call
	customers   map[string]string            // service id → the customer's email of its last call
	reads       int
	errFunc     func(c call) error
	effectFirst bool
	restartedAt map[string]time.Time
	backups     map[string][]*pb.BackupInfo
	// mute: services whose GetInfo reports no power attributes (a
	// backend that cannot tell).
	mute map[string]bool
}

func (f *fakeProvisioner) record(action, key string, ref *pb.ServiceRef) error {
	return f.recordEffect(action, key, ref, func() {})
}

func (f *fakeProvisioner) recordEffect(action, key string, ref *pb.ServiceRef, effect func()) error {
	c := call{Action: action, Key: key, ServiceID: ref.GetServiceId()}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	if f.options == nil {
		f.options = map[string]map[string]string{}
	}
	f.options[c.ServiceID] = ref.GetPlanOptions()
	if f.customers == nil {
		f.customers = map[string]string{}
	}
	f.customers[c.ServiceID] = ref.GetCustomer().GetEmail()
	fn, first := f.errFunc, f.effectFirst
	f.mu.Unlock()
	if fn != nil {
		if first {
			f.mu.Lock()
			effect()
			f.mu.Unlock()
		}
		if err := fn(c); err != nil {
			return err
		}
		if first {
			return nil
		}
	}
	f.mu.Lock()
	effect()
	f.mu.Unlock()
	return nil
}

// Customer returns the customer's email the last call about the service
// carried.
func (f *fakeProvisioner) Customer(serviceID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.customers[serviceID]
}

// Options returns the options the last call about the service carried.
func (f *fakeProvisioner) Options(serviceID string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.options[serviceID]
}

func (f *fakeProvisioner) GetInfo(_ context.Context, r *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	attrs := map[string]string{}
	if at, ok := f.restartedAt[r.GetService().GetServiceId()]; ok && !f.mute[r.GetService().GetServiceId()] {
		attrs[intent.AttrPowerChangedAt] = at.Format(time.RFC3339Nano)
		attrs[intent.AttrPowerState] = "running"
	}
	return &pb.GetInfoResponse{Status: &pb.ServiceStatus{State: pb.ServiceState_SERVICE_STATE_ACTIVE, Attributes: attrs}}, nil
}

func (f *fakeProvisioner) ListBackups(_ context.Context, r *pb.ListBackupsRequest) (*pb.ListBackupsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return &pb.ListBackupsResponse{Backups: f.backups[r.GetService().GetServiceId()]}, nil
}

func (f *fakeProvisioner) Backup(_ context.Context, r *pb.BackupRequest) (*pb.BackupResponse, error) {
	info := &pb.BackupInfo{Id: "b-" + r.GetIdempotencyKey(), Name: r.GetName(), Type: "backup", Status: "pending"}
	if err := f.recordEffect("backup", r.GetIdempotencyKey(), r.GetService(), func() {
		if f.backups == nil {
			f.backups = map[string][]*pb.BackupInfo{}
		}
		f.backups[r.GetService().GetServiceId()] = append(f.backups[r.GetService().GetServiceId()], info)
	}); err != nil {
		return nil, err
	}
	return &pb.BackupResponse{Backup: info}, nil
}

// Reads counts GetInfo and ListBackups calls.
func (f *fakeProvisioner) Reads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func (f *fakeProvisioner) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakeProvisioner) Power(_ context.Context, r *pb.PowerRequest) (*pb.PowerResponse, error) {
	if err := f.recordEffect("power", r.GetIdempotencyKey(), r.GetService(), func() {
		if f.restartedAt == nil {
			f.restartedAt = map[string]time.Time{}
		}
		f.restartedAt[r.GetService().GetServiceId()] = f.now()
	}); err != nil {
		return nil, err
	}
	return &pb.PowerResponse{Status: &pb.ServiceStatus{State: pb.ServiceState_SERVICE_STATE_ACTIVE}}, nil
}

func (f *fakeProvisioner) Snapshot(_ context.Context, r *pb.SnapshotRequest) (*pb.SnapshotResponse, error) {
	if err := f.record("snapshot", r.GetIdempotencyKey(), r.GetService()); err != nil {
		return nil, err
	}
	return &pb.SnapshotResponse{Snapshot: &pb.BackupInfo{Id: "s1", Name: r.GetName(), Status: "completed"}}, nil
}

func (f *fakeProvisioner) RunScript(_ context.Context, r *pb.RunScriptRequest) (*pb.RunScriptResponse, error) {
	if err := f.record("run_script", r.GetIdempotencyKey(), r.GetService()); err != nil {
		return nil, err
	}
	if r.GetScript() == "fail" {
		return &pb.RunScriptResponse{ExitCode: 2, Output: "boom"}, nil
	}
	if r.GetScript() == "cat archive" {
		// A script that prints binary data: valid UTF-8 on the wire, NUL
		// bytes in it.
		return &pb.RunScriptResponse{Output: "PK\x03\x04\x00\x00 archive"}, nil
	}
	return &pb.RunScriptResponse{Output: "ran " + r.GetScript()}, nil
}

// fakePlugins serves the fake under "full" (every capability) and "basic"
// (power only); a plugin named in down has its breaker open.
type fakePlugins struct {
	prov *fakeProvisioner
	down sync.Map
}

func (p *fakePlugins) Provisioner(string) (sdk.ProvisionerClient, error) { return p.prov, nil }

func (p *fakePlugins) PaymentGateway(name string) (sdk.PaymentGateway, error) {
	return nil, fmt.Errorf("no payment gateway %q here", name)
}

func (p *fakePlugins) Down(name string) bool { _, ok := p.down.Load(name); return ok }

func (p *fakePlugins) Get(name string) (pluginhost.Info, error) {
	caps := []string{string(sdk.CapPower)}
	if name == "full" {
		caps = append(caps, string(sdk.CapSnapshot), string(sdk.CapBackup), string(sdk.CapRunScript))
	}
	return pluginhost.Info{Name: name, Version: "1", Capabilities: caps, Options: fakeOptions, State: pluginhost.StateRunning}, nil
}

// fakeOptions is what both fake plugins declare they read: the plans'
// package, and a hostname customers may choose.
var fakeOptions = sdk.Options{
	sdk.StringOption("package", "package").OnPlan(),
	sdk.StringOption("hostname", "hostname").AtOrder(),
	sdk.StringOption("extra_ips", "extra IPs").OnPlan(),
}

// notices records what the scheduler told customers.
type notices struct {
	mu   sync.Mutex
	list []scheduler.Notice
}

func (n *notices) Notify(_ context.Context, _ bun.Tx, x scheduler.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.list = append(n.list, x)
	return nil
}

func (n *notices) Types() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, x := range n.list {
		out = append(out, x.Type)
	}
	return out
}

// fakeDNS answers the scheduler's name lookups from a table, so no test
// depends on the network; unknown names do not resolve.
type fakeDNS struct {
	mu    sync.Mutex
	names map[string][]netip.Addr
}

func (d *fakeDNS) Set(name string, addrs ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.names[name] = nil
	for _, a := range addrs {
		d.names[name] = append(d.names[name], netip.MustParseAddr(a))
	}
}

func (d *fakeDNS) Lookup(_ context.Context, host string) ([]netip.Addr, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if addrs, ok := d.names[host]; ok {
		return addrs, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

type testBundle struct {
	dns      *fakeDNS
	db       *database.DB
	s        *scheduler.Service
	plugins  *fakePlugins
	prov     *fakeProvisioner
	notices  *notices
	clock    *testkit.Clock
	account  string
	email    string // the account owner's address
	other    string // another account
	full     string // a service on the "full" plugin
	basic    string // a service on the "basic" plugin
	otherSvc string // a service of the other account
	planFull string
	owner    string // the account owner's user id
	// center and outbox are the notification center and its outbox when
	// setupOpts.center is set.
	center *notify.Service
	outbox *outbox.Outbox
	// billing is billing over db, which describes the services to the
	// scheduler and answers the tests' questions about services and plans.
	billing *billing.Billing
	svcs    *services.Services
	cat     *catalog.Catalog
}

type setupOpts struct {
	changer scheduler.PlanChanger
	// tune changes the scheduler's settings from its defaults (production's).
	tune func(*scheduler.Options)
	// center sends notices through the notification center (core/notify,
	// as app wiring does) instead of recording them in notices.
	center bool
	// logger receives the scheduler's log (default: none).
	logger hclog.Logger
}

func setup(t testing.TB, db *database.DB, o ...setupOpts) *testBundle {
	t.Helper()
	ctx := context.Background()
	var so setupOpts
	if len(o) > 0 {
		so = o[0]
	}
	b := &testBundle{db: db, prov: &fakeProvisioner{}, notices: &notices{}, clock: &testkit.Clock{}, dns: &fakeDNS{names: map[string][]netip.Addr{}}}
	b.prov.now = b.clock.Now
	b.plugins = &fakePlugins{prov: b.prov}
	b.clock.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)) // a Monday
	b.dns.Set("example.com", "93.184.215.14")
	reg := jobs.NewRegistry(time.Hour)
	opts := scheduler.DefaultOptions()
	opts.Now, opts.LookupIP = b.clock.Now, b.dns.Lookup
	// A failed run retries a second later, not half a minute: the tests
	// drive the clock past it.
	opts.RetryBase = time.Second
	// A failed health probe is repeated a millisecond later, not two
	// seconds: that pause is real time, which tests that fail probes
	// would otherwise wait out once per check.
	opts.RecheckAfter = time.Millisecond
	if so.tune != nil {
		so.tune(&opts)
	}
	var notifier scheduler.Notifier = b.notices
	if so.center {
		ns, err := notify.New(db, reg, notify.Options{PublicURL: "https://billing.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ns.Stop)
		b.center, b.outbox = ns, ns.Outbox()
		notifier = &scheduler.CenterNotifier{Center: ns}
	}
	// Billing describes the services to their provisioner, as in the core.
	cat := catalog.New(catalog.Deps{DB: db, Plugins: b.plugins, PlanGuard: billing.KeepsBackendInUse}, catalog.Options{Now: b.clock.Now})
	accts := accounts.New(db, nil, ratelimit.New(db), accounts.DefaultOptions())
	b.svcs = services.New(services.Deps{DB: db, Jobs: reg, Catalog: cat, Accounts: accts}, services.Options{Now: b.clock.Now})
	b.billing = billing.New(billing.Deps{Services: b.svcs, DB: db, Jobs: reg, Catalog: cat}, billing.Options{Now: b.clock.Now})
	views := provisioningtest.BackendJobs(provisioning.Deps{Services: b.svcs, DB: db, Jobs: reg, Billing: b.billing, Catalog: cat, Accounts: accts, Plugins: b.plugins})
	b.cat = cat
	if c, ok := so.changer.(*fakeChanger); ok {
		c.plans = cat
	}
	b.s = scheduler.New(scheduler.Deps{DB: db, Jobs: reg, Plugins: b.plugins, Services: b.svcs, Descriptions: views, Catalog: cat, Notifier: notifier, PlanChanger: so.changer, Logger: so.logger}, opts)
	if _, err := jobs.New(db, reg, jobstest.Working(10)); err != nil {
		t.Fatal(err)
	}
	must := func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	b.email = strings.ToLower("ada-" + t.Name() + "@example.net")
	var err error
	if b.account, b.owner, err = accountstest.Owner(ctx, db, b.email); err != nil {
		t.Fatal(err)
	}
	b.other = must(accountstest.Account(ctx, db, "eve-"+t.Name()+"@example.net"))
	b.planFull = must(catalogtest.Plan(ctx, db, "full", 1000))
	planBasic := must(catalogtest.Plan(ctx, db, "basic", 500))
	svc := func(acc, plan string) string {
		ids, err := billingtest.Services(ctx, db, acc, plan, 1)
		if err != nil {
			t.Fatal(err)
		}
		return ids[0]
	}
	b.full = svc(b.account, b.planFull)
	b.basic = svc(b.account, planBasic)
	b.otherSvc = svc(b.other, b.planFull)
	return b
}

// runs returns every run of the task, oldest first.
func (b *testBundle) runs(t *testing.T, taskID string) []*scheduler.Run {
	t.Helper()
	var rs []*scheduler.Run
	if err := b.db.NewSelect().Model(&rs).Where("task_id = ?", taskID).OrderExpr("due_at ASC").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rs
}

// jobCount counts River jobs of kind.
func (b *testBundle) jobCount(t *testing.T, kind string) int {
	t.Helper()
	n, err := b.db.NewSelect().Table("river_job").Where("kind = ?", kind).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// jobRuns returns, per run job, the runs it executes.
func (b *testBundle) jobRuns(t testing.TB) [][]string {
	t.Helper()
	var raw []string
	col := "args::text"
	if b.db.Dialect == database.SQLite {
		col = "json(args)" // River stores JSONB there
	}
	if err := b.db.NewSelect().Table("river_job").ColumnExpr(col).Where("kind = ?", scheduler.KindTaskRun).OrderExpr("id").Scan(context.Background(), &raw); err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, r := range raw {
		var args struct {
			RunIDs []string `json:"run_ids"`
		}
		if err := json.Unmarshal([]byte(r), &args); err != nil {
			t.Fatalf("run job args %s: %v", r, err)
		}
		out = append(out, args.RunIDs)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
