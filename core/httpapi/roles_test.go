package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
)

// The role × route matrix is written in docs/api.md between these markers,
// one row per route: | `METHOD PATH` | kind | scope | one cell per column |.
const (
	matrixDoc   = "../../docs/api.md"
	matrixStart = "<!-- role-matrix:start -->"
	matrixEnd   = "<!-- role-matrix:end -->"
)

// matrixColumns are the roles of the matrix, in its column order: the
// customer roles in the path's account, then the staff roles.
var matrixColumns = []string{
	accounts.RoleOwner, accounts.RoleAdmin, accounts.RoleBilling, accounts.RoleTechnical, accounts.RoleReadOnly,
	"staff " + accounts.StaffSupport, "staff " + accounts.StaffAdmin, "staff " + accounts.StaffOwner,
}

var staffRoles = []string{accounts.StaffSupport, accounts.StaffAdmin, accounts.StaffOwner}

// matrixRow is one route's row: who may call it.
type matrixRow struct {
	Kind  string // public, self, account, staff
	Scope string
	Allow []bool // per matrixColumns
}

func (r matrixRow) String() string {
	cells := make([]string, len(r.Allow))
	for i, ok := range r.Allow {
		cells[i] = "—"
		if ok {
			cells[i] = "✓"
		}
	}
	return fmt.Sprintf("%s | %s | %s", r.Kind, r.Scope, strings.Join(cells, " | "))
}

func routeKey(rt httpapi.Route) string { return rt.Method + " " + rt.Path }

// declaredRow is the row the route's declaration (Auth, Scope, Session,
// Members, StaffRole) amounts to.
func declaredRow(rt httpapi.Route) matrixRow {
	row := matrixRow{Scope: "any token", Allow: make([]bool, len(matrixColumns))}
	switch {
	case rt.Auth == httpapi.Public:
		row.Scope = "none"
	case rt.Session:
		row.Scope = "login session"
	case rt.Scope != "":
		row.Scope = "`" + rt.Scope + "`"
	}
	staffFrom := func() {
		if i := slices.Index(staffRoles, rt.StaffRole); i >= 0 {
			for j := i; j < len(staffRoles); j++ {
				row.Allow[5+j] = true
			}
		}
	}
	switch {
	case rt.Auth == httpapi.Public:
		row.Kind = "public"
		for i := range row.Allow {
			row.Allow[i] = true
		}
	case rt.Auth == httpapi.Staff:
		row.Kind = "staff"
		staffFrom()
	case strings.Contains(rt.Path, "{account_id}"):
		row.Kind = "account"
		for i, role := range matrixColumns[:5] {
			row.Allow[i] = slices.Contains(rt.Members, role)
		}
		staffFrom()
	default:
		row.Kind = "self"
		for i := range row.Allow {
			row.Allow[i] = true
		}
	}
	return row
}

// readMatrix parses the documented matrix.
func readMatrix(t testing.TB) map[string]matrixRow {
	t.Helper()
	f, err := os.Open(matrixDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]matrixRow{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == matrixStart:
			in = true
			continue
		case line == matrixEnd:
			in = false
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) != 3+len(matrixColumns) {
			t.Fatalf("%s: matrix row with %d cells, want %d: %s", matrixDoc, len(cells), 3+len(matrixColumns), line)
		}
		key := strings.Trim(cells[0], "`")
		if _, dup := rows[key]; dup {
			t.Fatalf("%s: two matrix rows for %s", matrixDoc, key)
		}
		row := matrixRow{Kind: cells[1], Scope: cells[2], Allow: make([]bool, len(matrixColumns))}
		for i, c := range cells[3:] {
			switch c {
			case "✓":
				row.Allow[i] = true
			case "—":
			default:
				t.Fatalf("%s: cell %q of %s is neither ✓ nor —", matrixDoc, c, key)
			}
		}
		rows[key] = row
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no role × route matrix between %s and %s", matrixDoc, matrixStart, matrixEnd)
	}
	return rows
}

// TestRoleMatrixCoversEveryRoute: every route the application registers
// has a row in docs/api.md's role × route matrix, the row says what the
// route's declaration enforces, and no row names a route that is not
// served. A route cannot ship without its row.
func TestRoleMatrixCoversEveryRoute(t *testing.T) {
	t.Parallel()
	tb := startApp(t, database.SQLite, databasetest.URL(t, database.SQLite))
	doc := readMatrix(t)
	served := map[string]bool{}
	var missing []string
	for _, rt := range tb.app.HTTP.Routes() {
		key := routeKey(rt)
		served[key] = true
		want := declaredRow(rt)
		got, ok := doc[key]
		if !ok {
			missing = append(missing, fmt.Sprintf("| `%s` | %s |", key, want))
			continue
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("%s: the documented row differs from the route's declaration (-documented +declared):\n%s", key, diff)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("routes without a row in %s's role × route matrix; the declarations amount to:\n%s", matrixDoc, strings.Join(missing, "\n"))
	}
	for key := range doc {
		if !served[key] {
			t.Errorf("%s's matrix has a row for %s, which no route serves", matrixDoc, key)
		}
	}
}

// TestRoleMatrixEnforced calls every registered route as every role of the
// matrix — an owner, admin, billing, technical and read-only member of one
// account, each staff role, a customer of another account and no one — with
// the route's handler stubbed out, and checks that exactly the documented
// roles get through: others get 403 (role_forbidden on an account's routes,
// forbidden on staff routes), 404 for an account that is not theirs, 401
// without a token.
func TestRoleMatrixEnforced(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		doc := readMatrix(t)
		owner := tb.newUser(t, "owner")
		account := owner.AccountID
		tokens := []string{owner.Token}
		for _, role := range matrixColumns[1:5] {
			u := tb.newUser(t, role)
			tb.addMember(t, account, u.ID, role)
			tokens = append(tokens, u.Token)
		}
		for _, role := range staffRoles {
			tokens = append(tokens, tb.newStaff(t, role).Token)
		}
		outsider := tb.newUser(t, "outsider")

		h := tb.app.HTTP.StubHandler(func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(http.StatusNoContent)
			return nil
		})
		call := func(rt httpapi.Route, token string) (int, string) {
			path := muxVar.ReplaceAllStringFunc(rt.Path, func(v string) string {
				if v == "{account_id}" {
					return account
				}
				return "x"
			})
			req := httptest.NewRequest(rt.Method, path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var p httpapi.Problem
			_ = json.Unmarshal(rec.Body.Bytes(), &p)
			return rec.Code, p.Code
		}

		routes := tb.app.HTTP.Routes()
		if len(routes) < 100 {
			t.Fatalf("only %d routes registered", len(routes))
		}
		for _, rt := range routes {
			row, ok := doc[routeKey(rt)]
			if !ok {
				t.Errorf("%s: no row in the matrix", routeKey(rt))
				continue
			}
			for i, token := range tokens {
				status, code := call(rt, token)
				switch {
				case row.Allow[i] && rt.HighRisk != nil && status == http.StatusAccepted:
					// A shipped policy held it for approval: the gate runs
					// after authorization, so the caller was let in.
				case row.Allow[i] && status != http.StatusNoContent:
					t.Errorf("%s as %s: %d %s, want it allowed", routeKey(rt), matrixColumns[i], status, code)
				case !row.Allow[i]:
					wantCode := "role_forbidden"
					if row.Kind == "staff" {
						wantCode = "forbidden"
					}
					if status != http.StatusForbidden || code != wantCode {
						t.Errorf("%s as %s: %d %s, want 403 %s", routeKey(rt), matrixColumns[i], status, code, wantCode)
					}
				}
			}
			status, code := call(rt, outsider.Token)
			want, wantCode := http.StatusNoContent, ""
			switch row.Kind {
			case "account":
				want, wantCode = http.StatusNotFound, "not_found"
			case "staff":
				want, wantCode = http.StatusForbidden, "forbidden"
			}
			if status != want || code != wantCode {
				t.Errorf("%s as a customer of another account: %d %s, want %d %s", routeKey(rt), status, code, want, wantCode)
			}
			status, code = call(rt, "")
			want, wantCode = http.StatusUnauthorized, "missing_token"
			if row.Kind == "public" {
				want, wantCode = http.StatusNoContent, ""
			}
			if status != want || code != wantCode {
				t.Errorf("%s without a token: %d %s, want %d %s", routeKey(rt), status, code, want, wantCode)
			}
		}
	})
}

// TestSupportStaffCannotChangeCustomerAccounts: through the customer
// routes, support staff read a customer's account but cannot order,
// cancel, power off or sign in to the panel; an admin gets through to the
// handler, and what an admin changes is audited as a staff action, with an
// API token as well as with a session.
func TestSupportStaffCannotChangeCustomerAccounts(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		customer := tb.newUser(t, "customer")
		support := tb.newStaff(t, accounts.StaffSupport)
		admin := tb.newStaff(t, accounts.StaffAdmin)
		acct := "/api/v1/accounts/" + customer.AccountID
		svc := acct + "/services/01900000-0000-7000-8000-000000000000"

		tb.client.do("GET", acct+"/services", support.Token, nil).want(t, http.StatusOK)
		tb.client.do("GET", acct+"/invoices", support.Token, nil).want(t, http.StatusOK)
		for _, c := range []struct {
			path string
			body any
		}{
			{acct + "/orders", map[string]any{"plan_id": "vps-1"}},
			{svc + "/cancel", map[string]any{"when": "now"}},
			{svc + "/power", map[string]any{"action": "shutdown"}},
			{svc + "/login-url", nil},
			{acct + "/maintenance-windows", map[string]any{"name": "w", "start": "02:00", "duration_minutes": 60}},
		} {
			tb.client.do("POST", c.path, support.Token, c.body).wantProblem(t, http.StatusForbidden, "role_forbidden")
		}
		if n := tb.count(t, "audit_events", "action = ? AND actor_id = ?", "auth.denied", support.ID); n != 5 {
			t.Errorf("%d denials of support audited, want 5", n)
		}

		// Admin reaches the handlers (the service does not exist).
		tb.client.do("POST", svc+"/cancel", admin.Token, map[string]any{"when": "now"}).wantProblem(t, http.StatusNotFound, "not_found")
		tb.client.do("POST", svc+"/power", admin.Token, map[string]any{"action": "shutdown"}).wantProblem(t, http.StatusNotFound, "not_found")
		window := map[string]any{"name": "staff", "start": "02:00", "duration_minutes": 60}
		tb.client.do("POST", acct+"/maintenance-windows", admin.Token, window).want(t, http.StatusCreated)
		pat := tb.createToken(t, admin.Token, "ops", "services:write").Token
		tb.client.do("POST", acct+"/maintenance-windows", pat, window).want(t, http.StatusCreated)
		var types []string
		if err := tb.app.DB.NewSelect().Table("audit_events").Column("actor_type").
			Where("action = ?", "scheduler.window.create").Where("account_id = ?", customer.AccountID).
			Order("seq").Scan(context.Background(), &types); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"staff", "staff"}, types); diff != "" {
			t.Errorf("actor types of the staff changes (-want +got):\n%s", diff)
		}
	})
}
