package tests

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// TestAdminCLIEnableDisableList: `ezscale admin list` shows staff with their
// role and status, `admin disable` and `admin enable` change it by email
// or id, and the last enabled owner cannot be disabled from the console
// either.
func TestAdminCLIEnableDisableList(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		env := []string{"EZSCALE_DATABASE_URL=" + url}
		mustRunCLI(t, env, adminPassword, "admin", "create", "--email", "owner@example.com", "--password-stdin")
		res := mustRunCLI(t, env, adminPassword, "admin", "create", "--email", "helper@example.com", "--password-stdin", "--role", "support")
		helperID := regexp.MustCompile(`\(([0-9a-f-]{36})\)`).FindStringSubmatch(res.stdout)
		if helperID == nil {
			t.Fatalf("admin create printed no id: %q", res.stdout)
		}

		list := func() string {
			t.Helper()
			return mustRunCLI(t, env, "", "admin", "list").stdout
		}
		row := regexp.MustCompile(`(?m)^helper@example\.com\s+support\s+(\w+)\s`)
		if m := row.FindStringSubmatch(list()); m == nil || m[1] != "enabled" {
			t.Fatalf("list before disabling:\n%s", list())
		}

		res = mustRunCLI(t, env, "", "admin", "disable", "Helper@Example.com")
		if !strings.Contains(res.stdout, "disabled helper@example.com") {
			t.Errorf("disable said %q", res.stdout)
		}
		if m := row.FindStringSubmatch(list()); m == nil || m[1] != "disabled" {
			t.Errorf("list after disabling:\n%s", list())
		}
		mustRunCLI(t, env, "", "admin", "enable", helperID[1])
		if m := row.FindStringSubmatch(list()); m == nil || m[1] != "enabled" {
			t.Errorf("list after enabling:\n%s", list())
		}

		res = runCLI(t, env, "", "admin", "disable", "owner@example.com")
		if res.code == 0 || !strings.Contains(res.stderr, "last staff owner") {
			t.Errorf("disabling the last owner: exit %d, stderr %q", res.code, res.stderr)
		}
		if res := runCLI(t, env, "", "admin", "disable", "nobody@example.com"); res.code == 0 || !strings.Contains(res.stderr, "no such user") {
			t.Errorf("disabling an unknown user: exit %d, stderr %q", res.code, res.stderr)
		}
		if out := list(); !strings.Contains(out, "owner@example.com") || strings.Contains(out, "disabled") {
			t.Errorf("final list:\n%s", out)
		}
	})
}
