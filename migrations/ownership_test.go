package migrations_test

import (
	"go/ast"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/migrations"
)

// owners names, for each package (its folder from the repository root),
// the tables it owns: it alone queries them, and other packages ask it.
// A new table gets its owner here, or TestEveryTableHasOneOwner fails.
var owners = map[string][]string{
	"core/accounts": {"users", "accounts", "memberships", "api_tokens", "one_time_tokens", "recovery_codes", "login_throttles"},
	"core/approval": {"high_risk_policies", "high_risk_policy_version", "approvals", "approval_transitions"},
	"core/audit":    {"audit_events", "audit_chain_head"},
	"core/billing": {"service_terms", "service_addons", "invoices", "invoice_lines", "billing_counters",
		"billing_profiles", "billing_runs", "billing_run_steps", "plan_changes"},
	"core/billing/budget":       {"budgets", "budget_periods", "budget_alerts", "budget_exclusions"},
	"core/billing/ledger":       {"credit_balances", "credit_entries"},
	"core/billing/payments":     {"payment_methods", "payments", "refunds", "topups", "auto_topups", "webhook_events"},
	"core/billing/pluginoption": {"plugin_option_declarations"},
	"core/catalog":              {"plans", "addons", "coupons", "coupon_account_uses", "tax_rates"},
	"core/community":            {"discord_links", "discord_invites", "discord_role_requests"},
	"core/compliance": {"compliance_policies", "compliance_policy_versions", "compliance_evidence", "compliance_vendors",
		"compliance_access_reviews"},
	"core/enterprise": {"enterprise_requests"},
	"core/httpapi":    {"idempotency_keys"},
	"core/intent":     {"intents"},
	"core/monitoring": {"game_monitors", "game_monitor_samples"},
	"core/notify": {"notifications", "notification_events", "notification_keys", "notification_preferences", "notification_secrets",
		"notification_settings", "notification_signals", "notification_streams"},
	"core/outbox":       {"outbox_messages", "outbox_bodies"},
	"core/projects":     {"projects", "project_services", "service_dependencies", "service_graphs", "service_outages", "service_outage_notices"},
	"core/provisioning": {"free_tier_services", "usage_samples"},
	"core/ratelimit":    {"rate_limits"},
	"core/services":     {"services", "service_suspensions"},
	"core/scheduler": {"scheduled_tasks", "task_runs", "maintenance_windows", "scheduled_plan_changes", "scheduler_ticks",
		"recovery_configs", "recovery_attempts"},
	"core/support":   {"support_conversations", "support_messages", "support_token_usage"},
	"core/transfers": {"service_transfers"},
}

// shared are the documented exceptions (docs/architecture.md, core/notify):
// the notification fan-out is one INSERT … SELECT per channel over the
// audience's users and memberships, writing the outbox's messages, whatever
// the audience's size; accounts calls notify, so notify cannot call it back.
var shared = map[string][]string{
	"users":           {"core/notify"},
	"memberships":     {"core/notify"},
	"outbox_messages": {"core/notify"},
}

// schemaTables lists the tables the migrations of one dialect leave.
func schemaTables(t *testing.T, dialect string) []string {
	t.Helper()
	create := regexp.MustCompile(`(?i)create\s+table\s+(?:if\s+not\s+exists\s+)?([a-z_]+)`)
	rename := regexp.MustCompile(`(?i)alter\s+table\s+([a-z_]+)\s+rename\s+to\s+([a-z_]+)`)
	drop := regexp.MustCompile(`(?i)drop\s+table\s+(?:if\s+exists\s+)?([a-z_]+)`)
	files, err := fs.Glob(migrations.FS, dialect+"/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s migrations: %v", dialect, err)
	}
	sort.Strings(files)
	tables := map[string]bool{}
	for _, f := range files {
		b, err := fs.ReadFile(migrations.FS, f)
		if err != nil {
			t.Fatal(err)
		}
		// Statement by statement, in order: a table made, dropped and
		// renamed within one migration (SQLite's way to change a column).
		for _, stmt := range strings.Split(string(b), ";") {
			if m := create.FindStringSubmatch(stmt); m != nil {
				tables[strings.ToLower(m[1])] = true
			}
			if m := drop.FindStringSubmatch(stmt); m != nil {
				delete(tables, strings.ToLower(m[1]))
			}
			if m := rename.FindStringSubmatch(stmt); m != nil {
				delete(tables, strings.ToLower(m[1]))
				tables[strings.ToLower(m[2])] = true
			}
		}
	}
	out := make([]string, 0, len(tables))
	for name := range tables {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// ownerOf maps each table to its owner.
func ownerOf() map[string]string {
	out := map[string]string{}
	for pkg, tables := range owners {
		for _, name := range tables {
			out[name] = pkg
		}
	}
	return out
}

// TestEveryTableHasOneOwner: every table the migrations leave, on either
// dialect, has exactly one owner, and every owned table exists.
func TestEveryTableHasOneOwner(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for pkg, tables := range owners {
		for _, name := range tables {
			if prev, ok := seen[name]; ok {
				t.Errorf("%s is owned by both %s and %s", name, prev, pkg)
			}
			seen[name] = pkg
		}
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		schema := schemaTables(t, dialect)
		for _, name := range schema {
			if _, ok := seen[name]; !ok {
				t.Errorf("%s table %s has no owner: add it to owners", dialect, name)
			}
		}
		for name, pkg := range seen {
			if !slices.Contains(schema, name) {
				t.Errorf("%s owns %s, which the %s migrations do not make", pkg, name, dialect)
			}
		}
	}
}

// TestNoPackageQueriesAnotherPackagesTables reads every non-test Go file
// under core/ and config/ and fails on a query of a table in a package that
// does not own it: SQL naming it (FROM, JOIN, INTO, UPDATE, EXISTS), a bun
// Table, TableExpr or ModelTableExpr argument, a bun model declared for it
// (its table tag), or a bun Model of another package's model type (say
// billing.Service outside billing). A package's own test kit (its
// "<name>test" folder) may write its tables for other packages' tests.
func TestNoPackageQueriesAnotherPackagesTables(t *testing.T) {
	t.Parallel()
	owner := ownerOf()
	names := make([]string, 0, len(owner))
	for name := range owner {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	alt := strings.Join(names, "|")
	inSQL := regexp.MustCompile(`(?i)\b(?:from|join|into|update|exists|table)\s*\(?\s*(` + alt + `)\b`)
	inTag := regexp.MustCompile(`\btable:(` + alt + `)\b`)
	bare := regexp.MustCompile(`^\s*(` + alt + `)\b`)
	dirOf := func(file string) string { return strings.TrimPrefix(path.Dir(file), "../") }
	allowed := func(file, table string) bool {
		dir, own := dirOf(file), owner[table]
		if dir == own || dir == own+"/"+path.Base(own)+"test" {
			return true
		}
		return slices.Contains(shared[table], dir)
	}
	var sources []testkit.Source
	for _, root := range []string{"../core", "../config"} {
		min := 300
		if root == "../config" {
			min = 1
		}
		testkit.Sources(t, root, min, func(string) bool { return false }, func(src testkit.Source) { sources = append(sources, src) })
	}
	// The bun models of each package, by the name other packages call
	// them ("billing.Service"), and the table each is for.
	models := map[string]string{}
	for _, src := range sources {
		ast.Inspect(src.File, func(n ast.Node) bool {
			spec, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := spec.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, f := range st.Fields.List {
				if f.Tag == nil {
					continue
				}
				if m := inTag.FindStringSubmatch(f.Tag.Value); m != nil {
					models[src.File.Name.Name+"."+spec.Name.Name] = m[1]
				}
			}
			return true
		})
	}
	for _, src := range sources {
		check := func(at ast.Node, re *regexp.Regexp, text string) {
			for _, m := range re.FindAllStringSubmatch(text, -1) {
				if table := strings.ToLower(m[1]); !allowed(src.Path, table) {
					t.Errorf("%s: names %s, which %s owns: ask it", src.Pos(at), table, owner[table])
				}
			}
		}
		src.StringLiterals(func(lit *ast.BasicLit, text string) {
			check(lit, inSQL, text)
			check(lit, inTag, text)
		})
		src.ModelArgs(func(id *ast.Ident, qualifier string) {
			if table, ok := models[qualifier+"."+id.Name]; ok && qualifier != "" && !allowed(src.Path, table) {
				t.Errorf("%s: a query of %s.%s (table %s), which %s owns: ask it", src.Pos(id), qualifier, id.Name, table, owner[table])
			}
		})
		ast.Inspect(src.File, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Table" && sel.Sel.Name != "TableExpr" && sel.Sel.Name != "ModelTableExpr") {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok {
				check(lit, bare, strings.Trim(lit.Value, "`\""))
			}
			return true
		})
	}
	if len(models) < 50 {
		t.Errorf("only %d bun models found: the walk did not read the domains", len(models))
	}
}
