package provisioning_test

import (
	"strings"
	"testing"

	"github.com/ezscale/platform/core/services"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/sdk"
)

// TestPowerActiveService: a restart reaches the provisioner with the
// request's key (a repeated request repeats the key), is audited, and
// returns the backend's state; a bad action is refused before any call.
func TestPowerActiveService(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		c := tb.customer(t, false, false)
		plan := tb.plan(t, "vps", 500, false, "")
		tb.credit(t, c.AccountID, 500)
		svc := tb.order(t, c, plan)

		for range 2 {
			res, err := tb.p.Power(c.as(tb.ctx), c.AccountID, svc.ID, "restart", "req-1")
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != "restart" || res.State != "active" {
				t.Errorf("result %+v", res)
			}
		}
		want := []call{
			{Op: "power", ServiceID: svc.ID, Key: "power:" + svc.ID + ":req-1", Action: "POWER_ACTION_RESTART"},
			{Op: "power", ServiceID: svc.ID, Key: "power:" + svc.ID + ":req-1", Action: "POWER_ACTION_RESTART"},
		}
		if diff := cmp.Diff(want, tb.prov.Calls("power")); diff != "" {
			t.Errorf("power calls (-want +got):\n%s", diff)
		}
		if _, err := tb.p.Power(tb.ctx, c.AccountID, svc.ID, "reboot", ""); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("unknown action: %v", err)
		}
		if got := tb.auditEvents(t, svc.ID, "provisioning."); !cmp.Equal(got, []string{"provisioning.service.power:success", "provisioning.service.power:success"}) {
			t.Errorf("audit %v", got)
		}
	})
}

// TestPowerRefusals: another account's service is a 404 (no call); a
// suspended service is a 409 (suspension cannot be bypassed); a plugin
// without power control is a 422; a backend refusal is a 409 and audited
// as a failure; a backend outage is a 503.
func TestPowerRefusals(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		c := tb.customer(t, false, false)
		other := tb.customer(t, false, false)
		plan := tb.plan(t, "vps", 500, false, "")
		noPower := tb.plan(t, "kasm", 500, false, "nopower")
		tb.host.setCaps("nopower", sdk.CapLoginURL)
		tb.credit(t, c.AccountID, 1500)
		svc := tb.order(t, c, plan)
		kasm := tb.order(t, c, noPower)

		check := func(what string, err error, code apperr.Code, reason string) {
			t.Helper()
			e, ok := apperr.As(err)
			if !ok || e.Code != code || (reason != "" && e.Reason != reason) {
				t.Errorf("%s: %v, want %s/%s", what, err, code, reason)
			}
		}
		_, err := tb.p.Power(other.as(tb.ctx), other.AccountID, svc.ID, "boot", "")
		check("another account's service", err, apperr.NotFound, "")
		_, err = tb.p.Power(tb.ctx, c.AccountID, kasm.ID, "boot", "")
		check("no power capability", err, apperr.Unprocessable, "not_supported")

		tb.prov.SetFail(func(c call) error {
			if c.Op == "power" && c.Action == "POWER_ACTION_SHUTDOWN" {
				return sdk.Errorf(sdk.Conflict, "the server is locked by a task")
			}
			if c.Op == "power" && c.Action == "POWER_ACTION_BOOT" {
				return sdk.UnavailableError(0, "backend down")
			}
			return nil
		})
		_, err = tb.p.Power(tb.ctx, c.AccountID, svc.ID, "shutdown", "")
		check("backend conflict", err, apperr.Conflict, "backend_conflict")
		_, err = tb.p.Power(tb.ctx, c.AccountID, svc.ID, "boot", "")
		check("backend down", err, apperr.Unavailable, "backend_unavailable")
		tb.prov.SetFail(nil)
		testkit.WaitFor(t, "the failures' detached audit events", func() bool {
			return len(tb.auditEvents(t, svc.ID, "provisioning.service.power")) == 2
		})
		if got := tb.auditEvents(t, svc.ID, "provisioning."); !cmp.Equal(got, []string{"provisioning.service.power:failure", "provisioning.service.power:failure"}) {
			t.Errorf("audit %v", got)
		}

		if _, err := tb.svcs.Suspend(tb.ctx, svc.ID, services.SuspendAdmin, "test"); err != nil {
			t.Fatal(err)
		}
		before := len(tb.prov.Calls("power"))
		_, err = tb.p.Power(tb.ctx, c.AccountID, svc.ID, "boot", "")
		check("suspended service", err, apperr.Conflict, "service_suspended")
		if n := len(tb.prov.Calls("power")); n != before {
			t.Errorf("a refused power action reached the provisioner (%d calls, want %d)", n, before)
		}
	})
}

// TestLoginURL: an SSO link comes from the provisioner and is audited
// without the link itself.
func TestLoginURL(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		c := tb.customer(t, false, false)
		plan := tb.plan(t, "vps", 0, false, "")
		svc := tb.order(t, c, plan)
		res, err := tb.p.LoginURL(tb.ctx, c.AccountID, svc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if res.URL != "https://panel.test/sso/"+svc.ID || res.ExpiresAt == nil {
			t.Errorf("login %+v", res)
		}
		var changes []string
		if err := tb.db.NewSelect().Table("audit_events").Column("changes").Where("target_id = ?", svc.ID).
			Where("action = 'provisioning.service.login'").Scan(tb.ctx, &changes); err != nil {
			t.Fatal(err)
		}
		for _, ch := range changes {
			if strings.Contains(ch, "panel.test") {
				t.Errorf("the audit event holds the login link: %s", ch)
			}
		}
		if len(changes) != 1 {
			t.Errorf("%d login audit events", len(changes))
		}
	})
}
