package scheduler_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/sdk"
)

// TestRecoveryRestartsWithinHourlyMaximum: a failing tcp check restarts
// the service through the power action, keyed by the attempt, at most
// max_attempts_per_hour times; then it gives up once and alerts the
// customer; a passing check re-arms it.
func TestRecoveryRestartsWithinHourlyMaximum(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{tune: func(o *scheduler.Options) { o.AllowPrivate, o.CheckTimeout = true, time.Second }})
		ctx := context.Background()
		port := testkit.UnusedPort(t)
		cfg, err := b.s.SetRecovery(ctx, b.account, b.full, scheduler.RecoveryInput{CheckType: "tcp", Target: "127.0.0.1", Port: port, MaxPerHour: ptr(2)})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.State != scheduler.StateUnknown || cfg.MaxPerHour != 2 || !cfg.Notify {
			t.Errorf("config %+v", cfg)
		}
		slot := cfg.NextCheckAt
		for range 3 {
			if err := b.s.CheckForTest(ctx, b.full, slot); err != nil {
				t.Fatal(err)
			}
			// A rescued check of the same slot does not restart again.
			if err := b.s.CheckForTest(ctx, b.full, slot); err != nil {
				t.Fatal(err)
			}
			slot = slot.Add(5 * time.Minute)
			b.clock.Add(5 * time.Minute)
		}
		attempts, err := b.s.RecoveryAttempts(ctx, b.account, b.full, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, a := range attempts {
			actions = append(actions, a.Action+"/"+a.Status)
		}
		if diff := cmp.Diff([]string{"gave_up/skipped", "restart/succeeded", "restart/succeeded"}, actions); diff != "" {
			t.Errorf("attempts, newest first (-want +got)\n%s", diff)
		}
		calls := b.prov.Calls()
		if len(calls) != 2 || calls[0].Key != attempts[2].ID || calls[1].Key != attempts[1].ID || calls[0].Action != "power" {
			t.Errorf("power calls %+v", calls)
		}
		if diff := cmp.Diff([]string{scheduler.NoticeRecoveryRestarted, scheduler.NoticeRecoveryRestarted, scheduler.NoticeRecoveryGaveUp}, b.notices.Types()); diff != "" {
			t.Errorf("notices (-want +got)\n%s", diff)
		}
		got, _ := b.s.Recovery(ctx, b.account, b.full)
		if got.State != scheduler.StateGaveUp {
			t.Errorf("state %q, want gave_up", got.State)
		}
		// Still down: no restart, no new attempt.
		if err := b.s.CheckForTest(ctx, b.full, slot); err != nil {
			t.Fatal(err)
		}
		if len(b.prov.Calls()) != 2 {
			t.Errorf("restarted after giving up")
		}
		// Back up: re-armed.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if _, err := b.s.SetRecovery(ctx, b.account, b.full, scheduler.RecoveryInput{CheckType: "tcp", Target: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port}); err != nil {
			t.Fatal(err)
		}
		if err := b.s.CheckForTest(ctx, b.full, slot.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.s.Recovery(ctx, b.account, b.full); got.State != scheduler.StateUp || got.LastCheckAt == nil {
			t.Errorf("after a passing check: %+v", got)
		}
	})
}

// TestRecoveryChecks: http answers below 400 pass; ping falls back to TCP
// where a refused connection proves the host up; private targets are
// refused unless allowed.
func TestRecoveryChecks(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{tune: func(o *scheduler.Options) { o.AllowPrivate, o.CheckTimeout = true, time.Second }})
		ctx := context.Background()
		status := http.StatusOK
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
		defer srv.Close()
		check := func(in scheduler.RecoveryInput) string {
			t.Helper()
			cfg, err := b.s.SetRecovery(ctx, b.account, b.full, in)
			if err != nil {
				t.Fatal(err)
			}
			b.clock.Add(10 * time.Minute)
			if err := b.s.CheckForTest(ctx, b.full, cfg.NextCheckAt.Add(time.Duration(b.clock.Now().Unix()))); err != nil {
				t.Fatal(err)
			}
			got, _ := b.s.Recovery(ctx, b.account, b.full)
			return got.State
		}
		if s := check(scheduler.RecoveryInput{CheckType: "http", Target: srv.URL}); s != scheduler.StateUp {
			t.Errorf("http 200: %s", s)
		}
		status = http.StatusServiceUnavailable
		if s := check(scheduler.RecoveryInput{CheckType: "http", Target: srv.URL, MaxPerHour: ptr(12)}); s != scheduler.StateDown {
			t.Errorf("http 503: %s", s)
		}
		if s := check(scheduler.RecoveryInput{CheckType: "ping", Target: "127.0.0.1", Port: testkit.UnusedPort(t), MaxPerHour: ptr(12)}); s != scheduler.StateUp {
			t.Errorf("ping of a live host with a closed port: %s", s)
		}
	})
}

// TestRecoveryOneFailedProbeIsNotAnOutage: a probe that fails once and
// passes when repeated leaves the service up, with no restart and no
// attempt recorded; two failures in a row are an outage.
func TestRecoveryOneFailedProbeIsNotAnOutage(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{tune: func(o *scheduler.Options) { o.AllowPrivate, o.CheckTimeout = true, time.Second }})
		ctx := context.Background()
		// probes counts the requests; the first failFirst of them fail.
		var probes, failFirst atomic.Int32
		failFirst.Store(1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if probes.Add(1) <= failFirst.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
		defer srv.Close()
		cfg, err := b.s.SetRecovery(ctx, b.account, b.full, scheduler.RecoveryInput{CheckType: "http", Target: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.s.CheckForTest(ctx, b.full, cfg.NextCheckAt); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.s.Recovery(ctx, b.account, b.full); got.State != scheduler.StateUp {
			t.Errorf("after one failed probe and a passing one: state %q, want up", got.State)
		}
		if n := probes.Load(); n != 2 {
			t.Errorf("%d probes, want the failed one repeated once", n)
		}
		if calls := b.prov.Calls(); len(calls) != 0 {
			t.Errorf("restarted after one failed probe: %+v", calls)
		}
		attempts, err := b.s.RecoveryAttempts(ctx, b.account, b.full, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(attempts) != 0 {
			t.Errorf("attempts %+v, want none", attempts)
		}

		// Two failures in a row at the next slot: down, and restarted.
		probes.Store(0)
		failFirst.Store(2)
		b.clock.Add(5 * time.Minute)
		if err := b.s.CheckForTest(ctx, b.full, cfg.NextCheckAt.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.s.Recovery(ctx, b.account, b.full); got.State != scheduler.StateDown {
			t.Errorf("after two failed probes: state %q, want down", got.State)
		}
		if calls := b.prov.Calls(); len(calls) != 1 || calls[0].Action != "power" {
			t.Errorf("power calls %+v, want one restart", calls)
		}
	})
}

// TestRecoveryValidation: bad settings name their field; a provisioner
// without a power action cannot have auto-recovery... (every fake has one)
// and another account's service is NotFound.
func TestRecoveryValidation(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		for _, c := range []struct {
			in    scheduler.RecoveryInput
			field string
		}{
			{scheduler.RecoveryInput{CheckType: "smtp", Target: "example.com"}, "check_type"},
			{scheduler.RecoveryInput{CheckType: "http", Target: "ftp://example.com"}, "target"},
			{scheduler.RecoveryInput{CheckType: "tcp", Target: "example.com"}, "port"},
			{scheduler.RecoveryInput{CheckType: "tcp", Target: "exa mple.com", Port: 22}, "target"},
			{scheduler.RecoveryInput{CheckType: "ping", Target: "example.com", MaxPerHour: ptr(0)}, "max_attempts_per_hour"},
		} {
			_, err := b.s.SetRecovery(ctx, b.account, b.full, c.in)
			if code, field, _ := fieldOf(err); code != apperr.Invalid || field != c.field {
				t.Errorf("%+v: %v, want invalid %s", c.in, err, c.field)
			}
		}
		if _, err := b.s.SetRecovery(ctx, b.account, b.otherSvc, scheduler.RecoveryInput{CheckType: "ping", Target: "example.com"}); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("another account's service: %v", err)
		}
	})
}

// TestRecoveryRefusesSpecialTargetsAtSave: a target in any special-purpose
// block (the shared space that holds cloud metadata, NAT64 and 6to4
// wrappings of loopback and link-local, benchmarking, reserved…), a
// special-use or numeric name, or a name that resolves to such an address
// is a 422 naming target when saved, and nothing is stored; the message
// never shows an address the core resolved.
func TestRecoveryRefusesSpecialTargetsAtSave(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{tune: func(o *scheduler.Options) { o.CheckTimeout = time.Second }})
		ctx := context.Background()
		b.dns.Set("intranet.example.com", "93.184.215.14", "10.0.0.5")
		for _, in := range []scheduler.RecoveryInput{
			{CheckType: "tcp", Target: "100.100.100.200", Port: 80},
			{CheckType: "http", Target: "http://169.254.169.254/latest/meta-data/"},
			{CheckType: "http", Target: "http://[64:ff9b::a9fe:a9fe]/"},
			{CheckType: "http", Target: "https://[::ffff:127.0.0.1]:8443/"},
			{CheckType: "tcp", Target: "2002:7f00:1::", Port: 22},
			{CheckType: "ping", Target: "198.18.0.1"},
			{CheckType: "ping", Target: "192.0.0.170"},
			{CheckType: "tcp", Target: "240.0.0.1", Port: 22},
			{CheckType: "tcp", Target: "localhost", Port: 22},
			{CheckType: "http", Target: "http://metadata.google.internal/"},
			{CheckType: "tcp", Target: "2130706433", Port: 80},
			{CheckType: "http", Target: "http://intranet.example.com/"},
		} {
			_, err := b.s.SetRecovery(ctx, b.account, b.full, in)
			code, field, reason := fieldOf(err)
			if code != apperr.Unprocessable || field != "target" || reason != "target_not_public" {
				t.Errorf("%s %s: %v, want 422 target_not_public on target", in.CheckType, in.Target, err)
			}
			if strings.Contains(err.Error(), "10.0.0.5") {
				t.Errorf("the refusal shows the resolved address: %v", err)
			}
		}
		if _, err := b.s.Recovery(ctx, b.account, b.full); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("a refused target was stored: %v", err)
		}
		for _, in := range []scheduler.RecoveryInput{
			{CheckType: "tcp", Target: "8.8.8.8", Port: 53},
			{CheckType: "http", Target: "https://example.com/health"},
			{CheckType: "ping", Target: "2606:4700:4700::1111"},
			{CheckType: "ping", Target: "not-yet-in-dns.example.org"},
		} {
			if _, err := b.s.SetRecovery(ctx, b.account, b.full, in); err != nil {
				t.Errorf("%s %s: %v", in.CheckType, in.Target, err)
			}
		}
	})
}

// TestRecoveryRefusesRebindingAtDial: a name that resolved to a public
// address when saved and to loopback when probed (DNS rebinding) is
// refused at connect time; the customer sees a generic reason in
// last_error, the attempt and the notification, never the address (which
// goes to the log).
func TestRecoveryRefusesRebindingAtDial(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{tune: func(o *scheduler.Options) { o.CheckTimeout = time.Second }})
		ctx := context.Background()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		b.dns.Set("rebind.example.com", "93.184.215.14")
		cfg, err := b.s.SetRecovery(ctx, b.account, b.full, scheduler.RecoveryInput{CheckType: "tcp", Target: "rebind.example.com", Port: l.Addr().(*net.TCPAddr).Port})
		if err != nil {
			t.Fatal(err)
		}
		b.dns.Set("rebind.example.com", "127.0.0.1")
		if err := b.s.CheckForTest(ctx, b.full, cfg.NextCheckAt); err != nil {
			t.Fatal(err)
		}
		const reason = "the target is not a public address"
		got, _ := b.s.Recovery(ctx, b.account, b.full)
		if got.State != scheduler.StateDown || got.LastError != reason {
			t.Errorf("after a rebound name: state %s, last_error %q; want down, %q", got.State, got.LastError, reason)
		}
		attempts, err := b.s.RecoveryAttempts(ctx, b.account, b.full, "", 10)
		if err != nil || len(attempts) != 1 || attempts[0].CheckError != reason {
			t.Errorf("attempts %+v (%v), want one with check_error %q", attempts, err, reason)
		}
		b.notices.mu.Lock()
		for _, n := range b.notices.list {
			if n.Data["error"] != reason {
				t.Errorf("notice %s carries error %v, want %q", n.Type, n.Data["error"], reason)
			}
		}
		b.notices.mu.Unlock()
	})
}

// TestRecoverySlotsSpread: each service's checks keep a stable offset in
// the interval, and the offsets of many services spread over it.
func TestRecoverySlotsSpread(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		buckets := map[int]int{}
		for i := range 200 {
			id := "svc-" + time.Duration(i).String()
			a := b.s.SlotAfterForTest(id, base)
			if next := b.s.SlotAfterForTest(id, a.Add(time.Second)); next.Sub(a) != 5*time.Minute {
				t.Fatalf("slot %v then %v: not one interval apart", a, next)
			}
			buckets[int(a.Sub(base)/time.Minute)]++
		}
		for m := range 5 {
			if buckets[m] < 20 {
				t.Errorf("minute %d of the interval has %d of 200 services: not spread", m, buckets[m])
			}
		}
	})
}

// TestRecoveryRestartNotRepeated: the restart of a failed check reached
// the backend but its answer was lost; the rescued check of the same slot
// does not restart again: GetInfo shows the restart, and the attempt
// succeeds with one power call. Where the backend cannot tell, the attempt
// fails as unknown, still without a second call.
func TestRecoveryRestartNotRepeated(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{tune: func(o *scheduler.Options) { o.AllowPrivate, o.CheckTimeout = true, time.Second }})
		ctx := context.Background()
		port := testkit.UnusedPort(t)
		ids, err := billingtest.Services(ctx, db, b.account, b.planFull, 1)
		if err != nil {
			t.Fatal(err)
		}
		muted := ids[0]
		b.prov.mute = map[string]bool{muted: true}
		b.prov.effectFirst = true
		b.prov.errFunc = func(call) error { return sdk.UnavailableError(0, "the backend did not answer") }
		for _, svc := range []string{b.full, muted} {
			cfg, err := b.s.SetRecovery(ctx, b.account, svc, scheduler.RecoveryInput{CheckType: "tcp", Target: "127.0.0.1", Port: port})
			if err != nil {
				t.Fatal(err)
			}
			if err := b.s.CheckForTest(ctx, svc, cfg.NextCheckAt); err == nil {
				t.Fatalf("check of %s: nil, want the restart in doubt", svc)
			}
			b.clock.Add(time.Minute)
			if err := b.s.CheckForTest(ctx, svc, cfg.NextCheckAt); err != nil {
				t.Fatalf("rescued check of %s: %v", svc, err)
			}
		}
		per := map[string]int{}
		for _, c := range b.prov.Calls() {
			per[c.ServiceID]++
		}
		if diff := cmp.Diff(map[string]int{b.full: 1, muted: 1}, per); diff != "" {
			t.Errorf("power calls per service (-want +got)\n%s", diff)
		}
		for svc, want := range map[string]string{b.full: "restart/succeeded", muted: "restart/failed"} {
			attempts, err := b.s.RecoveryAttempts(ctx, b.account, svc, "", 10)
			if err != nil || len(attempts) != 1 {
				t.Fatalf("attempts of %s: %+v, %v", svc, attempts, err)
			}
			if got := attempts[0].Action + "/" + attempts[0].Status; got != want {
				t.Errorf("attempt of %s %s, want %s (%s)", svc, got, want, attempts[0].Error)
			}
		}
	})
}

// TestRecoveryHealthHooks: the health hooks hear, in the check's
// transaction, each failed check that records an attempt (down, then
// gave_up, with the check's reason), the passing check after them (up),
// and nothing for a check that passes while already up.
func TestRecoveryHealthHooks(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{tune: func(o *scheduler.Options) { o.AllowPrivate, o.CheckTimeout = true, time.Second }})
		var heard []scheduler.HealthChange
		b.s.OnHealth(func(_ context.Context, _ bun.Tx, ch scheduler.HealthChange) error {
			heard = append(heard, ch)
			return nil
		})
		ctx := context.Background()
		port := testkit.UnusedPort(t)
		cfg, err := b.s.SetRecovery(ctx, b.account, b.full, scheduler.RecoveryInput{CheckType: "tcp", Target: "127.0.0.1", Port: port, MaxPerHour: ptr(1)})
		if err != nil {
			t.Fatal(err)
		}
		slot := cfg.NextCheckAt
		for range 2 {
			if err := b.s.CheckForTest(ctx, b.full, slot); err != nil {
				t.Fatal(err)
			}
			slot = slot.Add(5 * time.Minute)
			b.clock.Add(5 * time.Minute)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		// The check now passes (the target is the listener's port).
		if _, err := db.NewUpdate().Table("recovery_configs").Set("port = ?", l.Addr().(*net.TCPAddr).Port).Where("service_id = ?", b.full).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := b.s.CheckForTest(ctx, b.full, slot); err != nil {
				t.Fatal(err)
			}
			slot = slot.Add(5 * time.Minute)
		}
		var states []string
		for _, ch := range heard {
			if ch.ServiceID != b.full || ch.AccountID != b.account {
				t.Errorf("heard %+v, want service %s of %s", ch, b.full, b.account)
			}
			states = append(states, ch.State)
			if ch.State != scheduler.StateUp && !strings.HasPrefix(ch.Reason, "failed its tcp health check (") {
				t.Errorf("reason %q, want the failed tcp check", ch.Reason)
			}
		}
		if diff := cmp.Diff([]string{scheduler.StateDown, scheduler.StateGaveUp, scheduler.StateUp}, states); diff != "" {
			t.Errorf("states heard (-want +got)\n%s", diff)
		}
	})
}
