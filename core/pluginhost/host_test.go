package pluginhost

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

func deliver(t *testing.T, h *Host, name, recipient string) (*pb.DeliverResponse, error) {
	t.Helper()
	n, err := h.Notifier(name)
	if err != nil {
		t.Fatal(err)
	}
	return n.Deliver(context.Background(), &pb.DeliverRequest{IdempotencyKey: "k-" + recipient, Channel: "email", Recipient: recipient})
}

func TestStartListAndCall(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	if err := b.host.Start(startCtx(t), []Spec{testSpec("tp")}); err != nil {
		t.Fatal(err)
	}
	got := b.host.List()
	want := []Info{{
		Name: "tp", Version: "1.0.0", Kinds: []string{"provisioner", "notifier"}, Capabilities: []string{},
		Options: testOptions, State: StateRunning, Path: bins["testplugin"],
	}}
	// Health is TestHealthRounds' business: its first round races List.
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Info{}, "PID", "StartedAt", "Health")); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if got[0].PID <= 0 || got[0].StartedAt.IsZero() {
		t.Errorf("List: pid %d started_at %v, want both set", got[0].PID, got[0].StartedAt)
	}

	resp, err := deliver(t, b.host, "tp", "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("id-k-a@example.com", resp.GetProviderMessageId()); diff != "" {
		t.Error(diff)
	}
	p, err := b.host.Provisioner("tp")
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Create(context.Background(), &pb.CreateRequest{IdempotencyKey: "order-1", Service: &pb.ServiceRef{ServiceId: "s1"}})
	if err != nil || c.GetStatus().GetExternalId() != "ext-order-1" {
		t.Fatalf("Create: %v %v", c, err)
	}
	_, err = p.Power(context.Background(), &pb.PowerRequest{IdempotencyKey: "p", Service: &pb.ServiceRef{ServiceId: "s1"}})
	if !sdk.IsKind(err, sdk.NotSupported) {
		t.Errorf("Power on a plugin without the capability: %v, want NotSupported", err)
	}
	_, err = deliver(t, b.host, "tp", "invalid")
	var se *sdk.Error
	if !errors.As(err, &se) || se.Kind != sdk.InvalidInput || se.Field != "recipient" {
		t.Errorf("typed error lost across the host: %#v", err)
	}

	if _, err := b.host.PaymentGateway("tp"); err == nil || !strings.Contains(err.Error(), "not a payment_gateway") {
		t.Errorf("PaymentGateway of a notifier: %v", err)
	}
	if _, err := b.host.Notifier("nope"); !errors.Is(err, ErrUnknownPlugin) {
		t.Errorf("unknown plugin: %v", err)
	}
	// Plugin logs reach the core's log under the plugin's name.
	if logs := b.logs.String(); !strings.Contains(logs, "core.tp: configured") {
		t.Errorf("plugin log line not routed under the plugin's name; logs:\n%s", logs)
	}
	if n := testutil.ToFloat64(b.host.metrics.calls.WithLabelValues("tp", "NotifierService/Deliver")); n != 2 {
		t.Errorf("calls metric = %v, want 2", n)
	}
	if n := testutil.ToFloat64(b.host.metrics.errors.WithLabelValues("tp", "ProvisionerService/Power", "not_supported")); n != 1 {
		t.Errorf("errors metric = %v, want 1", n)
	}
}

func TestSIGKILLMidCall(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	if err := b.host.Start(startCtx(t), []Spec{testSpec("tp")}); err != nil {
		t.Fatal(err)
	}
	before, _ := b.host.Get("tp")
	errc := make(chan error, 1)
	go func() {
		_, err := deliver(t, b.host, "tp", "hang")
		errc <- err
	}()
	// Give the call time to reach the plugin; if it has not, the kill still
	// fails it, just earlier.
	time.Sleep(300 * time.Millisecond)
	killed := time.Now()
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("call survived SIGKILL of its plugin")
		}
		if d := time.Since(killed); d > time.Second {
			t.Errorf("call returned %s after SIGKILL, want within 1s", d)
		}
	case <-time.After(time.Second):
		t.Fatal("call did not return within 1s of SIGKILL")
	}
	after := waitFor(t, b.host, "tp", "running again", func(in Info) bool {
		return in.State == StateRunning && in.Restarts >= 1 && in.PID != before.PID
	})
	if !strings.Contains(after.LastError, "signal: killed") {
		t.Errorf("last_error %q does not say the process was killed", after.LastError)
	}
	if _, err := deliver(t, b.host, "tp", "ok@example.com"); err != nil {
		t.Errorf("call after restart: %v", err)
	}
}

func TestHangHitsDeadlineAndRestarts(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	spec := testSpec("tp")
	spec.CallTimeout = 500 * time.Millisecond
	if err := b.host.Start(startCtx(t), []Spec{spec}); err != nil {
		t.Fatal(err)
	}
	before, _ := b.host.Get("tp")
	_, err := deliver(t, b.host, "tp", "hang")
	if !errors.Is(err, context.DeadlineExceeded) || !sdk.IsKind(err, sdk.Unavailable) {
		t.Fatalf("hung call: %v, want Unavailable wrapping context.DeadlineExceeded", err)
	}
	waitFor(t, b.host, "tp", "restarted", func(in Info) bool {
		return in.State == StateRunning && in.Restarts >= 1 && in.PID != before.PID
	})
	if !processGone(before.PID) {
		t.Errorf("hung process %d still alive", before.PID)
	}
	if _, err := deliver(t, b.host, "tp", "ok@example.com"); err != nil {
		t.Errorf("call after restart: %v", err)
	}
}

func TestCrashMidCallIsNotRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{BackoffBase: time.Second})
	if err := b.host.Start(startCtx(t), []Spec{testSpec("tp")}); err != nil {
		t.Fatal(err)
	}
	_, err := deliver(t, b.host, "tp", "crash")
	if err == nil {
		t.Fatal("call that crashed the plugin succeeded")
	}
	// Deliver carries an idempotency key: the host must return the failure,
	// not repeat the call on the restarted plugin (which would crash it a
	// second time).
	in := waitFor(t, b.host, "tp", "running again", func(in Info) bool { return in.State == StateRunning && in.Restarts >= 1 })
	if in.Restarts != 1 {
		t.Errorf("restarts = %d, want 1 (was the crashing call retried?)", in.Restarts)
	}
	if _, err := deliver(t, b.host, "tp", "ok@example.com"); err != nil {
		t.Errorf("call after restart: %v", err)
	}
}

func TestCrashLoopOpensBreaker(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{BackoffBase: 20 * time.Millisecond})
	spec := Spec{Name: "loop", Path: bins["crashloop"]}
	// Start may see the first start succeed or the breaker already open.
	_ = b.host.Start(startCtx(t), []Spec{spec})
	in := waitFor(t, b.host, "loop", "failed", func(in Info) bool { return in.State == StateFailed })
	if !strings.Contains(in.LastError, "crash loop: 3 crashes within 10m0s") {
		t.Errorf("last_error %q does not explain the breaker", in.LastError)
	}
	if _, err := deliver(t, b.host, "loop", "x@example.com"); !sdk.IsKind(err, sdk.Unavailable) || !strings.Contains(err.Error(), "failed") || !errors.Is(err, ErrNotSent) {
		t.Errorf("call to a failed plugin: %v, want Unavailable saying failed, not sent", err)
	}
	// Job workers snooze this plugin's work here rather than spend
	// attempts on it.
	if !b.host.Down("loop") {
		t.Error("Down is false while the breaker is open")
	}
	// An admin restart closes the breaker and starts it again.
	if err := b.host.Restart(startCtx(t), "loop"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	waitFor(t, b.host, "loop", "failed again", func(in Info) bool { return in.State == StateFailed && in.Restarts >= 5 })
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		spec    Spec
		want    error
		message string
	}{
		{"stdout", Spec{Path: bins["stdout"]}, ErrStdoutPollution, `first line was "starting up, hello!"`},
		{"badcookie", Spec{Path: bins["badcookie"]}, ErrMagicCookie, "handshake cookie"},
		{"badversion", Spec{Path: bins["badversion"]}, ErrProtocolVersion, "Plugin version: 2"},
		{"checksum", Spec{Path: bins["testplugin"], SHA256: strings.Repeat("ab", 32), Positions: map[string]string{"sha256": "plugins.hcl:4:3"}},
			ErrChecksumMismatch, "the config pins abababababababababababababababababababababababababababababababab (sha256 set at plugins.hcl:4:3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{})
			tc.spec.Name = tc.name
			tc.spec.Config = map[string]any{"api_url": "x"}
			err := b.host.Start(startCtx(t), []Spec{tc.spec})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Start: %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.message) || !strings.Contains(err.Error(), "refused") {
				t.Errorf("Start: %q does not say %q", err, tc.message)
			}
			in, _ := b.host.Get(tc.name)
			if in.State != StateFailed || in.Restarts != 0 {
				t.Errorf("refused plugin: state %s restarts %d, want failed without restarts", in.State, in.Restarts)
			}
		})
	}
}

func TestChecksumPinAccepted(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	sum, err := fileSHA256(bins["testplugin"])
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec("pinned")
	spec.SHA256 = strings.ToUpper(sum)
	if err := b.host.Start(startCtx(t), []Spec{spec}); err != nil {
		t.Fatalf("correct pin refused: %v", err)
	}
}

func TestBadConfigNamesField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		config    map[string]any
		positions map[string]string
		want      []string
	}{
		{"schema", map[string]any{"port": "eighty", "hots": "typo"}, map[string]string{
			"": "plugins.hcl:3:1", "port": "plugins.hcl:8:5", "hots": "plugins.hcl:9:5",
		}, []string{
			`plugin "schema": invalid config:`,
			`hots (plugins.hcl:9:5): unknown field`,
			`api_url (plugins.hcl:3:1): required field is missing`,
			`port (plugins.hcl:8:5): must be an integer, got string`,
		}},
		{"configure", map[string]any{"api_url": "refuse"}, map[string]string{
			"": "plugins.hcl:3:1", "api_url": "plugins.hcl:7:5",
		}, []string{
			`api_url (plugins.hcl:7:5): the backend refused this URL`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{})
			spec := Spec{Name: tc.name, Path: bins["testplugin"], Config: tc.config, Positions: tc.positions}
			err := b.host.Start(startCtx(t), []Spec{spec})
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Start: %v, want a *ConfigError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			in, _ := b.host.Get(tc.name)
			if in.State != StateFailed {
				t.Errorf("state %s, want failed", in.State)
			}
		})
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	if err := b.host.Start(startCtx(t), []Spec{testSpec("a"), testSpec("b")}); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, in := range b.host.List() {
		pids = append(pids, in.PID)
	}
	b.host.Stop()
	for _, pid := range pids {
		if !processGone(pid) {
			t.Errorf("plugin process %d still in /proc after Stop", pid)
		}
	}
	for _, in := range b.host.List() {
		if in.State != StateDisabled || in.PID != 0 {
			t.Errorf("after Stop: %+v", in)
		}
	}
}

func TestDisableAndEnable(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	spec := testSpec("tp")
	spec.Disabled = true
	if err := b.host.Start(startCtx(t), []Spec{spec}); err != nil {
		t.Fatal(err)
	}
	if in, _ := b.host.Get("tp"); in.State != StateDisabled {
		t.Fatalf("state %s, want disabled", in.State)
	}
	if !b.host.Down("tp") {
		t.Error("Down is false for a disabled plugin")
	}
	if err := b.host.Enable(startCtx(t), "tp"); err != nil {
		t.Fatal(err)
	}
	if b.host.Down("tp") {
		t.Error("Down is true for a running plugin")
	}
	if _, err := deliver(t, b.host, "tp", "x@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := b.host.Disable("tp"); err != nil {
		t.Fatal(err)
	}
	if _, err := deliver(t, b.host, "tp", "x@example.com"); !sdk.IsKind(err, sdk.Unavailable) {
		t.Errorf("call to a disabled plugin: %v, want Unavailable", err)
	}
}

func TestReadIsRetriedOnceAfterRestart(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	spec := testSpec("tp")
	spec.Config["state_dir"] = t.TempDir()
	if err := b.host.Start(startCtx(t), []Spec{spec}); err != nil {
		t.Fatal(err)
	}
	p, err := b.host.Provisioner("tp")
	if err != nil {
		t.Fatal(err)
	}
	// GetInfo changes nothing, so the host repeats it once on the restarted
	// plugin instead of failing the caller.
	resp, err := p.GetInfo(context.Background(), &pb.GetInfoRequest{Service: &pb.ServiceRef{ExternalId: "crash-once"}})
	if err != nil {
		t.Fatalf("GetInfo across a crash: %v", err)
	}
	if resp.GetStatus().GetExternalId() != "crash-once" {
		t.Errorf("GetInfo: %v", resp)
	}
	if in, _ := b.host.Get("tp"); in.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", in.Restarts)
	}
}

// TestHealthChecks: a plugin that does not answer its health check is
// killed and restarted (an unhealthy answer is not: see
// TestHealthUnhealthyPluginKeepsRunning).
func TestHealthChecks(t *testing.T) {
	t.Parallel()
	opts := Options{HealthInterval: 100 * time.Millisecond, HealthTimeout: 300 * time.Millisecond}

	t.Run("unresponsive is restarted", func(t *testing.T) {
		t.Parallel()
		b := setup(t, opts)
		spec := testSpec("tp")
		spec.Config["health"] = "hang"
		if err := b.host.Start(startCtx(t), []Spec{spec}); err != nil {
			t.Fatal(err)
		}
		in := waitFor(t, b.host, "tp", "restarted", func(in Info) bool { return in.Restarts >= 1 })
		if !strings.Contains(in.LastError, "health check failed, plugin killed") {
			t.Errorf("last_error %q", in.LastError)
		}
	})
}

// TestAHungKillIsTheExitReason: a process killed as hung reads as killed
// for that reason, however soon its exit is noticed, and never as having
// exited unexpectedly (the kill's SIGKILL is also how it exits).
func TestAHungKillIsTheExitReason(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	inst := &instance{cmd: cmd, killed: make(chan struct{})}
	if err := inst.exitError(); err == nil || !strings.Contains(err.Error(), "exited unexpectedly") {
		t.Errorf("a process that exited by itself: %v", err)
	}
	reason := errors.New("health check failed, plugin killed")
	inst.killHung(reason)
	if err := inst.exitError(); err != reason {
		t.Errorf("a process killed as hung: %v, want %v", err, reason)
	}
}

// TestDescribedStoresTheDeclarationBeforeRunning: the host hands each
// description to Options.Described before the plugin counts as running, so
// whoever waits for the start finds the option declaration stored.
func TestDescribedStoresTheDeclarationBeforeRunning(t *testing.T) {
	t.Parallel()
	type described struct {
		Name, Version string
		Options       sdk.Options
		Running       bool
	}
	var (
		mu  sync.Mutex
		got []described
		b   *testBundle
	)
	b = setup(t, Options{Described: func(name string, d *pb.DescribeResponse) {
		in, _ := b.host.Get(name)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, described{Name: name, Version: d.GetVersion(), Options: sdk.OptionsFromProto(d.GetOptions()), Running: in.State == StateRunning})
	}})
	if err := b.host.Start(startCtx(t), []Spec{testSpec("tp")}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []described{{Name: "tp", Version: "1.0.0", Options: testOptions, Running: false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Described calls (-want +got):\n%s", diff)
	}
}

// TestReadRetryCoversTheConnectionClosingUnderACall: a read is repeated
// when the process went away, which a call sees either as Unavailable or,
// when the supervisor closed the dead process's connection first, as the
// connection closing (Canceled); never for the plugin's own answer.
func TestReadRetryCoversTheConnectionClosingUnderACall(t *testing.T) {
	answer := func(code codes.Code) error {
		st, err := status.New(code, "the plugin's answer").WithDetails(&pb.ErrorDetail{Kind: pb.ErrorKind_ERROR_KIND_UNAVAILABLE})
		if err != nil {
			t.Fatal(err)
		}
		return st.Err()
	}
	for _, tc := range []struct {
		name string
		err  error
		lost bool
	}{
		{"transport gone", status.Error(codes.Unavailable, "error reading from server: EOF"), true},
		{"connection closed under the call", status.Error(codes.Canceled, "grpc: the client connection is closing"), true},
		{"the plugin's unavailable answer", answer(codes.Unavailable), false},
		{"the plugin's cancelled answer", answer(codes.Canceled), false},
		{"another status", status.Error(codes.Internal, "boom"), false},
		{"not a status", errors.New("boom"), false},
	} {
		if got := readLost(tc.err); got != tc.lost {
			t.Errorf("%s: readLost = %v, want %v", tc.name, got, tc.lost)
		}
	}
}
