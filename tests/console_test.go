package tests

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/plugins/kasm/fakekasm"
	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
	"github.com/ezscale/platform/tests/smtptest"
	"github.com/ezscale/platform/tests/testbin"
)

// consolePlatform is a core serving the console at a fixed loopback
// address (the public URL its emails link to) with the provisioners on the
// fakes, the email plugin on a test SMTP server, a staff admin and a staff
// support member, and the demo catalog; as a sandbox, it names a mail
// catcher.
type consolePlatform struct {
	*platform
	base string
	smtp *smtptest.Server
}

func startConsolePlatform(t *testing.T) *consolePlatform {
	t.Helper()
	f := startFakes(t, 1)
	smtp := smtptest.Start(t)
	bins := provisionerBins(t)
	addr := testkit.UnusedAddr(t)
	base := "http://" + addr
	src := fmt.Sprintf(`server {
  listen     = %q
  public_url = %q
}
database {
  url = %q
}
log {
  level  = "info"
  format = "json"
}
jobs {
  fetch_poll_interval = "100ms"
  fetch_cooldown      = "10ms"
}
billing {
  retry_base = "1s"
}
provisioning {
  usage_interval = "10s"
}
sandbox {
  mail_url = "http://127.0.0.1:8025/"
}
plugin "email" {
  path = %q
  config {
    host       = "127.0.0.1"
    port       = %d
    tls_policy = "none"
    from       = "EZSCALE <noreply@example.test>"
  }
}
plugin "virtfusion" {
  path = %q
  config {
    api_url   = %q
    api_token = "vf-test-token"
  }
}
plugin "pterodactyl" {
  path = %q
  config {
    api_url         = %q
    application_key = %q
    client_key      = %q
  }
}
plugin "kasm" {
  path = %q
  config {
    api_url        = %q
    api_key        = %q
    api_key_secret = %q
  }
}
`, addr, base, databasetest.URL(t, database.SQLite), emailPlugin, smtp.Port, bins["virtfusion"], f.vfURL,
		bins["pterodactyl"], f.ptURL, fakepterodactyl.DefaultApplicationKey, fakepterodactyl.DefaultClientKey,
		bins["kasm"], f.kasmURL, fakekasm.DefaultAPIKey, fakekasm.DefaultAPISecret)
	cfg := filepath.Join(t.TempDir(), "ezscale.hcl")
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ email, role string }{{"ops@example.net", "admin"}, {"helpdesk@example.net", "support"}} {
		if code, out := run(t, "staff password for tests\n", "admin", "create", "--config", cfg,
			"--email", m.email, "--role", m.role, "--password-stdin"); code != 0 {
			t.Fatalf("ezscale admin create: exit %d\n%s", code, out)
		}
	}
	root, err := testbin.Root()
	if err != nil {
		t.Fatal(err)
	}
	if code, out := run(t, "", "catalog", "import", "--config", cfg, filepath.Join(root, "config", "examples", "demo-catalog.json")); code != 0 {
		t.Fatalf("ezscale catalog import: exit %d\n%s", code, out)
	}
	p := &platform{c: serve(t, cfg)}
	if p.c.base != base {
		t.Fatalf("the core serves %s, want %s", p.c.base, base)
	}
	p.staff = p.login(t, "ops@example.net", "staff password for tests")
	return &consolePlatform{platform: p, base: base, smtp: smtp}
}

// linkIn returns the first link to base+path in an email's text.
func linkIn(t *testing.T, m smtptest.Message, base, path string) string {
	t.Helper()
	body, err := m.Text()
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(base+path) + `\?token=[A-Za-z0-9_%.-]+`).FindString(body)
	if link == "" {
		t.Fatalf("no %s%s link in the email:\n%s", base, path, body)
	}
	return link
}

// TestConsoleCustomerWalk walks the customer console in Chromium against a
// real core: sign up, confirm the address from the emailed link, log in,
// order a VPS on the annual cycle with a coupon, watch it go active, restart
// it, get the "ready" notification in the bell without a reload, pay an
// invoice from credit, create an automated task; log out. Every page
// visited passes axe-core with no serious or critical violation and no CSP
// violation, and deep links load on their own. TestConsoleStaffWalk is the
// staff's side, on a core of its own, so the two walks run side by side.
func TestConsoleCustomerWalk(t *testing.T) {
	t.Parallel()
	ctx := newTab(t)
	cp := startConsolePlatform(t)
	base := cp.base
	const email, password = "grace@example.net", "correct horse battery"
	cp.must(t, 201, "POST", "/api/v1/admin/coupons", cp.staff, map[string]any{"code": "WELCOME10", "kind": "percent", "percent_bp": 1000}, nil)

	// A visitor lands on the login page.
	do(t, ctx, "opening the console", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)))
	checkPage(t, ctx, "login")

	// Sign up.
	do(t, ctx, "signing up", chromedp.Navigate(base+"/signup"), chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)))
	checkPage(t, ctx, "signup")
	// A short password is refused next to its field.
	do(t, ctx, "submitting a short password",
		fill(`input[name=email]`, email), fill(`input[name=password]`, "short"),
		click(`button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`.field.invalid .error`)))
	if got := text(t, ctx, `.field.invalid .error`); !strings.Contains(got, "at least") {
		t.Errorf("the password field's error reads %q", got)
	}
	checkPage(t, ctx, "signup-errors")
	do(t, ctx, "signing up", fill(`input[name=password]`, password),
		click(`button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`.success`)))

	// Confirm the address from the email's link.
	link := linkIn(t, cp.smtp.WaitFor(t, email, "Confirm your email address"), base, "/verify-email")
	do(t, ctx, "opening the verification link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`[data-verified]`)))
	checkPage(t, ctx, "verify-email")

	// Staff credit the account so orders are paid from credit.
	customer := cp.login(t, email, password)
	var me struct {
		Accounts []struct {
			ID string `json:"id"`
		} `json:"accounts"`
	}
	cp.must(t, 200, "GET", "/api/v1/me", customer, nil, &me)
	cp.account, cp.customer = me.Accounts[0].ID, customer
	cp.credit(t, 50000)

	// Log in; the dashboard shows the balance.
	do(t, ctx, "logging in", chromedp.Navigate(base+"/login"),
		fill(`input[name=email]`, email), fill(`input[name=password]`, password),
		click(`button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`[data-balance]`)))
	if got := text(t, ctx, `[data-balance]`); !strings.Contains(got, "500.00") {
		t.Errorf("the dashboard's balance reads %q, want $500.00", got)
	}
	checkPage(t, ctx, "dashboard-empty")

	// The catalog's annual cycle shows each plan's price and saving.
	do(t, ctx, "opening the catalog", click(`nav a[href="/catalog"]`),
		chromedp.WaitVisible(chromedp.CSS(`article[data-plan=vps-small]`)),
		click(`.toggle input[value=annual]`),
		chromedp.WaitVisible(chromedp.CSS(`article[data-plan=vps-small] [data-saving]`)))
	checkPage(t, ctx, "catalog")

	// Order it with the coupon.
	do(t, ctx, "ordering", click(`article[data-plan=vps-small] a.button`),
		chromedp.WaitVisible(chromedp.CSS(`input[name=coupon_code]`)),
		fill(`input[name=label]`, "web-1"), fill(`input[name=coupon_code]`, "WELCOME10"))
	checkPage(t, ctx, "order")
	do(t, ctx, "placing the order", click(`form button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`.section-head [data-status]`)))

	// The service page follows it to active; the bell gets the "ready"
	// notification over the stream, without a reload.
	do(t, ctx, "waiting for the service to go active", chromedp.WaitVisible(chromedp.CSS(`.section-head [data-status=active]`)))
	do(t, ctx, "opening the bell", click(`.bell-button`), chromedp.WaitVisible(chromedp.CSS(`#bell-panel`)))
	waitJS(t, ctx, "the ready notification in the bell",
		`[...document.querySelectorAll('#bell-panel li')].some(li => li.textContent.includes('web-1 is ready')) && document.querySelector('.bell-button').dataset.unread !== '0'`)
	checkPage(t, ctx, "bell")
	var services struct {
		Data []struct {
			ID    string `json:"id"`
			Cycle string `json:"cycle"`
		} `json:"data"`
	}
	cp.must(t, 200, "GET", "/api/v1/accounts/"+cp.account+"/services", customer, nil, &services)
	if len(services.Data) != 1 || services.Data[0].Cycle != "annual" {
		t.Fatalf("services after the order: %+v, want one annual", services.Data)
	}
	svc := services.Data[0].ID
	var invoices struct {
		Data []struct {
			ID       string `json:"id"`
			Discount int64  `json:"discount"`
			Status   string `json:"status"`
		} `json:"data"`
	}
	cp.must(t, 200, "GET", "/api/v1/accounts/"+cp.account+"/invoices", customer, nil, &invoices)
	if len(invoices.Data) != 1 || invoices.Data[0].Discount <= 0 || invoices.Data[0].Status != "paid" {
		t.Fatalf("invoices after the order (newest first): %+v, want the order's paid with the coupon's discount", invoices.Data)
	}

	// Restart it.
	do(t, ctx, "restarting", click(`button[data-action=restart]`), chromedp.WaitVisible(chromedp.CSS(`[data-power-done]`)))
	checkPage(t, ctx, "service")

	// An invoice larger than the credit: credit pays what it can at once
	// (credit is applied to open invoices as it arrives), the rest is due.
	// Paying it without enough credit or a card is refused with the API's
	// reason on the page; once credit covers it, it is paid from credit.
	var manual struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	cp.must(t, 201, "POST", "/api/v1/admin/accounts/"+cp.account+"/invoices", cp.staff,
		map[string]any{"lines": []map[string]any{{"description": "Migration help", "quantity": 1, "unit_amount": 100000}}}, &manual)
	if manual.Status != "open" {
		t.Fatalf("the manual invoice is %s, want open", manual.Status)
	}
	do(t, ctx, "opening the invoices", click(`nav a[href="/invoices"]`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-invoice="`+manual.ID+`"]`)))
	checkPage(t, ctx, "invoices")
	do(t, ctx, "opening the invoice", click(`tr[data-invoice="`+manual.ID+`"] a`),
		chromedp.WaitVisible(chromedp.CSS(`button[data-action=pay]`)),
		click(`button[data-action=pay]`), chromedp.WaitVisible(chromedp.CSS(`.alert`)))
	if got := text(t, ctx, `.alert`); !strings.Contains(got, "no saved payment method") {
		t.Errorf("paying without the means shows %q", got)
	}
	checkPage(t, ctx, "invoice-open")
	cp.credit(t, 100000)
	do(t, ctx, "paying the invoice from credit", click(`button[data-action=pay]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-paid]`)))

	// Create an automated task, from a deep link loaded afresh.
	do(t, ctx, "opening the tasks", chromedp.Navigate(base+"/services/"+svc+"/tasks"), chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	do(t, ctx, "creating a task", click(`.section-head button.primary`),
		chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)), fill(`input[name=name]`, "nightly reboot"),
		click(`form button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`tr[data-task]`)))
	checkPage(t, ctx, "tasks")

	// Usage charts: once the collector has samples, the usage tab draws
	// them (the chart library loads there, under the same CSP).
	testkit.WaitFor(t, "usage samples of "+svc, func() bool {
		var usage struct {
			Data []any `json:"data"`
		}
		cp.must(t, 200, "GET", "/api/v1/accounts/"+cp.account+"/services/"+svc+"/usage", customer, nil, &usage)
		return len(usage.Data) > 0
	})
	do(t, ctx, "opening the usage charts", chromedp.Navigate(base+"/services/"+svc+"/usage"),
		chromedp.WaitVisible(chromedp.CSS(`[data-chart] .uplot canvas`)))
	checkPage(t, ctx, "usage")

	// Every other page loads from a deep link and passes the checks.
	for _, pg := range []struct{ name, path, ready string }{
		{"recovery", "/services/" + svc + "/recovery", `form`},
		{"changes", "/services/" + svc + "/changes", `form`},
		{"addons", "/services/" + svc + "/addons", `h3`},
		{"credit", "/credit", `[data-balance]`},
		{"budget", "/budget", `form`},
		{"notifications", "/notifications", `ul.notifications`},
		{"preferences", "/notifications/preferences", `table.matrix`},
		{"security", "/security", `table.list, .empty`},
		{"discord", "/discord", `h1`},
		{"not-found", "/no/such/page", `h1`},
	} {
		do(t, ctx, "opening "+pg.path, chromedp.Navigate(base+pg.path), chromedp.WaitVisible(chromedp.CSS(pg.ready)))
		checkPage(t, ctx, pg.name)
	}
	do(t, ctx, "opening the dashboard", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`tr[data-service="`+svc+`"]`)))
	checkPage(t, ctx, "dashboard")

	// At a phone's width the navigation folds into a menu that opens.
	do(t, ctx, "a phone's width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-service="`+svc+`"]`)), chromedp.WaitNotVisible(chromedp.CSS(`#nav`)))
	checkPage(t, ctx, "dashboard-phone")
	do(t, ctx, "opening the menu", click(`.menu-toggle`), chromedp.WaitVisible(chromedp.CSS(`#nav a[href="/invoices"]`)))
	do(t, ctx, "back to a desktop's width", chromedp.EmulateViewport(1280, 900))

	// Log out: the session is gone, and so is the console's access.
	do(t, ctx, "logging out", click(`button[data-action=logout]`), chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)))
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch('/api/v1/me').then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || status != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/me after logging out: %d, %v; want 401", status, err)
	}
}

// TestConsoleStaffWalk walks the staff console in Chromium against a real
// core, for a customer with an active VPS ordered through the API: staff
// find the customer by email, open the account and suspend the service
// there (the customer's view shows it); void, write, keep as a draft and
// issue invoices, adjust credit, set the billing profile, read the
// account's audit events; search users; filter services and audit
// events; see the plugins and jobs; edit the catalog (plans, add-ons,
// coupons, tax rates, refusals shown at their fields); start a billing
// run and an announcement; at a phone's width the tables fold into cards.
// A support member's navigation lists only the pages their role reaches.
// Every page passes axe-core with no serious or critical violation and no
// CSP violation.
func TestConsoleStaffWalk(t *testing.T) {
	t.Parallel()
	cp := startConsolePlatform(t)
	base := cp.base
	const email, password = "grace@example.net", "correct horse battery"
	cp.must(t, 201, "POST", "/api/v1/admin/coupons", cp.staff, map[string]any{"code": "WELCOME10", "kind": "percent", "percent_bp": 1000}, nil)
	var signup struct {
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	cp.must(t, 201, "POST", "/api/v1/auth/signup", "", map[string]any{"email": email, "password": password}, &signup)
	cp.account, cp.customer = signup.Account.ID, cp.login(t, email, password)
	cp.credit(t, 50000)
	svc := cp.order(t, "vps-small")
	cp.waitService(t, svc, "active", func(s serviceJSON) bool { return s.Status == "active" })

	// Staff find the customer by email, open the account and suspend the
	// service there; the customer's view shows it.
	staff := newTab(t)
	do(t, staff, "staff logging in", chromedp.Navigate(base+"/staff"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		fill(`input[name=email]`, "ops@example.net"), fill(`input[name=password]`, "staff password for tests"),
		click(`button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`a.card[href="/staff/accounts"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-sandbox] a[href="http://127.0.0.1:8025/"]`)))
	checkPage(t, staff, "staff-home")
	do(t, staff, "finding the customer", click(`nav a[href="/staff/accounts"]`),
		fill(`input[name=q]`, "grace@"), click(`form.filters button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-account="`+cp.account+`"]`)))
	checkPage(t, staff, "staff-accounts")
	do(t, staff, "opening the account", click(`tr[data-account="`+cp.account+`"] a`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-service="`+svc+`"]`)))
	checkPage(t, staff, "staff-account")
	do(t, staff, "suspending", click(`tr[data-service="`+svc+`"] button[data-action=suspend]`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-service="`+svc+`"] [data-status=suspended]`)))
	ctx := sessionTab(t, base, email, password)
	do(t, ctx, "the customer's view", chromedp.Navigate(base+"/services/"+svc), chromedp.WaitVisible(chromedp.CSS(`.section-head [data-status=suspended]`)))

	// The account's other tabs: invoices, credit (with an adjustment), audit.
	// Staff void a draft invoice; they write a new one in the console (a
	// refusal shows at its field), keep it as a draft, then issue it (the
	// account's credit then pays it).
	var voided struct {
		ID string `json:"id"`
	}
	cp.must(t, 201, "POST", "/api/v1/admin/accounts/"+cp.account+"/invoices", cp.staff,
		map[string]any{"draft": true, "lines": []map[string]any{{"description": "Setup fee", "quantity": 1, "unit_amount": 2500}}}, &voided)
	voidRow := `tr[data-invoice="` + voided.ID + `"]`
	do(t, staff, "the account's invoices", click(`.tabs a[href$="/invoices"]`), chromedp.WaitVisible(chromedp.CSS(voidRow+` [data-status=draft]`)))
	do(t, staff, "voiding a draft", click(voidRow+` button[data-action=void]`), fill(voidRow+` .confirm input`, "Agreed with the customer"),
		click(voidRow+` button[data-action=void-confirm]`), chromedp.WaitVisible(chromedp.CSS(voidRow+` [data-status=void]`)))
	do(t, staff, "a refused invoice", click(`button[data-action=new-invoice]`),
		fill(`form[data-form=invoice] input[name="lines[0].description"]`, "Migration help, second day"),
		fill(`form[data-form=invoice] input[name="lines[0].unit_amount"]`, "250"),
		fill(`form[data-form=invoice] input[name=due_days]`, "400"),
		click(`form[data-form=invoice] input[type=checkbox]`), click(`form[data-form=invoice] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`form[data-form=invoice] .field.invalid .error`)))
	checkPage(t, staff, "staff-account-invoice-errors")
	do(t, staff, "a draft invoice", fill(`form[data-form=invoice] input[name=due_days]`, "14"), click(`form[data-form=invoice] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-invoice]:has([data-status=draft]) button[data-action=issue]`)))
	checkPage(t, staff, "staff-account-invoices")
	do(t, staff, "issuing the draft", click(`tr[data-invoice]:has([data-status=draft]) button[data-action=issue]`))
	waitJS(t, staff, "the issued invoice", `!document.querySelector('tr[data-invoice] [data-status=draft]') && !!document.querySelector('tr[data-invoice] [data-status=paid], tr[data-invoice] [data-status=open]')`)
	do(t, staff, "adjusting the account's credit", click(`.tabs a[href$="/credit"]`),
		fill(`input[name=amount]`, "-5"), fill(`input[name=description]`, "Goodwill correction"),
		click(`form[aria-label="Adjust credit"] button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`form .success`)))
	if got := text(t, staff, `form .success`); !strings.Contains(got, "-$5.00") {
		t.Errorf("the adjustment reads %q, want -$5.00", got)
	}
	checkPage(t, staff, "staff-account-credit")
	do(t, staff, "the account's billing profile", click(`.tabs a[href$="/billing"]`),
		fill(`form[data-form=billing-profile] input[name=tax_id]`, "DE123456789"),
		click(`form[data-form=billing-profile] button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`form[data-form=billing-profile] .success`)),
		chromedp.WaitVisible(chromedp.CSS(`main .empty`)))
	checkPage(t, staff, "staff-account-billing")
	do(t, staff, "the account's audit events", click(`.tabs a[href$="/audit"]`),
		chromedp.WaitVisible(chromedp.CSS(`table[data-audit]`)))
	if got := text(t, staff, `table[data-audit]`); !strings.Contains(got, "service.suspend") {
		t.Errorf("the account's audit events do not show the suspension:\n%s", got)
	}
	checkPage(t, staff, "staff-account-audit")

	// Users: the customer by email, with its accounts a click away.
	do(t, staff, "searching users", chromedp.Navigate(base+"/staff/accounts?who=users&q=grace"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-user] a[href^="/staff/accounts?q="]`)))
	checkPage(t, staff, "staff-users")

	// Services, filtered to the account; audit filtered by action; plugins;
	// jobs.
	do(t, staff, "services of the account", chromedp.Navigate(base+"/staff/services?account_id="+cp.account),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-service="`+svc+`"] button[data-action=unsuspend]`)))
	checkPage(t, staff, "staff-services")
	do(t, staff, "audit events by action", chromedp.Navigate(base+"/staff/audit"),
		fill(`input[name=action]`, "billing."), click(`form.filters button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`table[data-audit]`)))
	checkPage(t, staff, "staff-audit")
	do(t, staff, "plugins", chromedp.Navigate(base+"/staff/plugins"), chromedp.WaitVisible(chromedp.CSS(`tr[data-plugin=virtfusion] [data-state=running]`)))
	checkPage(t, staff, "staff-plugins")
	do(t, staff, "jobs", chromedp.Navigate(base+"/staff/jobs"), chromedp.WaitVisible(chromedp.CSS(`form.filters`)))
	checkPage(t, staff, "staff-jobs")

	// The catalog: edit a plan, archive another; an add-on and a coupon
	// refused next to a field, then created; a tax rate set.
	do(t, staff, "plans", chromedp.Navigate(base+"/staff/catalog"), click(`tr[data-plan=vps-small] button[data-action=edit]`),
		fill(`form[data-form=plan] input[name=description]`, "Two vCPU, for small sites"),
		click(`form[data-form=plan] button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`p.success`)))
	checkPage(t, staff, "staff-catalog-plans")
	do(t, staff, "archiving a plan", click(`tr[data-plan=vps-medium] button[data-action=archive]`),
		chromedp.WaitNotPresent(chromedp.CSS(`tr[data-plan=vps-medium] button[data-action=archive]`)))
	do(t, staff, "a refused add-on", click(`.tabs a[href="/staff/catalog/addons"]`), chromedp.WaitVisible(chromedp.CSS(`.empty`)),
		click(`button[data-action=new-addon]`),
		fill(`form[data-form=addon-new] input[name=slug]`, "Extra IPv4"), fill(`form[data-form=addon-new] input[name=name]`, "Extra IPv4 address"),
		fill(`form[data-form=addon-new] input[name=monthly_price]`, "3"), click(`form[data-form=addon-new] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`form[data-form=addon-new] .field.invalid .error`)))
	do(t, staff, "an add-on", fill(`form[data-form=addon-new] input[name=slug]`, "extra-ipv4"), click(`form[data-form=addon-new] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-addon=extra-ipv4] button[data-action=archive]`)))
	checkPage(t, staff, "staff-catalog-addons")
	do(t, staff, "archiving the add-on", click(`tr[data-addon=extra-ipv4] button[data-action=archive]`),
		chromedp.WaitNotPresent(chromedp.CSS(`tr[data-addon=extra-ipv4] button[data-action=archive]`)))
	do(t, staff, "a refused coupon", click(`.tabs a[href="/staff/catalog/coupons"]`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-coupon=WELCOME10]`)), click(`button[data-action=new-coupon]`),
		fill(`form[data-form=coupon-new] input[name=code]`, "SPRING"), fill(`form[data-form=coupon-new] input[name=percent]`, "0"),
		click(`form[data-form=coupon-new] button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`form[data-form=coupon-new] .field.invalid .error`)))
	checkPage(t, staff, "staff-catalog-coupon-errors")
	do(t, staff, "a coupon", fill(`form[data-form=coupon-new] input[name=percent]`, "15"),
		click(`form[data-form=coupon-new] button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`tr[data-coupon=SPRING]`)))
	checkPage(t, staff, "staff-catalog-coupons")
	do(t, staff, "a tax rate", click(`.tabs a[href="/staff/catalog/tax-rates"]`),
		fill(`form[data-form=tax-rate] input[name=country]`, "de"), fill(`form[data-form=tax-rate] input[name=name]`, "VAT"),
		fill(`form[data-form=tax-rate] input[name=rate]`, "19"), click(`form[data-form=tax-rate] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-country=DE]`)))
	if got := text(t, staff, `tr[data-country=DE]`); !strings.Contains(got, "19") {
		t.Errorf("the tax rate row reads %q", got)
	}
	checkPage(t, staff, "staff-catalog-tax-rates")

	// A billing run by hand, followed until its step settles; an
	// announcement to everyone.
	do(t, staff, "a billing run", chromedp.Navigate(base+"/staff/billing-runs"),
		click(`form[data-form=billing-run] input[value=remind]`), click(`form[data-form=billing-run] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`section p.success`)))
	checkPage(t, staff, "staff-billing-runs")
	do(t, staff, "an announcement", chromedp.Navigate(base+"/staff/announcements"),
		fill(`input[name=title]`, "Maintenance on Sunday"), fill(`textarea[name=message]`, "The control panel is read-only from 02:00 to 03:00 UTC."),
		click(`form[data-form=announcement] button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`form .success`)))
	checkPage(t, staff, "staff-announcements")

	// At a phone's width the staff tables fold into cards.
	do(t, staff, "staff at a phone's width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/staff/accounts/"+cp.account),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-service="`+svc+`"]`)), chromedp.WaitNotVisible(chromedp.CSS(`#nav`)))
	checkPage(t, staff, "staff-account-phone")

	// A support member's navigation lists only the pages their role
	// reaches, and each of those loads without a refusal, offering no
	// action the role cannot take, in at most three API calls.
	support := newTab(t)
	do(t, support, "support logging in", chromedp.Navigate(base+"/staff"),
		fill(`input[name=email]`, "helpdesk@example.net"), fill(`input[name=password]`, "staff password for tests"),
		click(`button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`a.card[href="/staff/accounts"]`)))
	nav, err := chromedp.Run(support, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#nav a')].map(a => a.getAttribute('href'))`))
	if err != nil {
		t.Fatal(err)
	}
	wantNav := []string{"/staff", "/staff/accounts", "/staff/services", "/staff/transfers", "/staff/enterprise", "/staff/support", "/staff/billing-runs", "/staff/catalog", "/staff/compliance", "/staff/approvals", "/staff/high-risk-policies"}
	if diff := cmp.Diff(wantNav, nav); diff != "" {
		t.Errorf("a support member's navigation (-want +got):\n%s", diff)
	}
	for _, href := range append(wantNav, "/staff/accounts/"+cp.account, "/staff/accounts/"+cp.account+"/credit", "/staff/accounts/"+cp.account+"/billing") {
		do(t, support, "support opening "+href, chromedp.Navigate(base+href), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
		waitJS(t, support, href+" loaded", `!document.querySelector('main .loading')`)
		if n, err := chromedp.Run(support, chromedp.Evaluate[int](`document.querySelectorAll('main .alert').length`)); err != nil || n != 0 {
			t.Errorf("%s shows a refusal to a support member:\n%s", href, text(t, support, `main`))
		}
		if n, err := chromedp.Run(support, chromedp.Evaluate[int](`document.querySelectorAll('main button[data-action], form[data-form]').length`)); err != nil || n != 0 {
			t.Errorf("%s offers a support member actions their role cannot take", href)
		}
		// A view makes at most three API calls to render (the shell's
		// GET /api/v1/me is made once per visit, not per view).
		calls, err := chromedp.Run(support, chromedp.Evaluate[[]string](`performance.getEntriesByType('resource').map(e => new URL(e.name).pathname).filter(p => p.startsWith('/api/') && p !== '/api/v1/me')`))
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) > 3 {
			t.Errorf("%s made %d API calls to render, want at most 3: %v", href, len(calls), calls)
		}
	}
	do(t, support, "support at an admin page", chromedp.Navigate(base+"/staff/audit"), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	if got := text(t, support, `main h1`); got != "Page not found" {
		t.Errorf("a support member at /staff/audit sees %q, want the not-found page", got)
	}
}
