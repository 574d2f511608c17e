package tests

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ezscale/platform/core/database"
)

// TestConsoleProjectBilling: in Chromium against a real core, a customer
// whose ordered VPS is in a project opens the project's billing page from
// a deep link: it lists the service's next renewal with the totals, passes
// axe-core with no serious or critical violation and no CSP violation, and
// its CSV link downloads the same summary as text/csv with the browser's
// session.
func TestConsoleProjectBilling(t *testing.T) {
	t.Parallel()
	ctx := newTab(t)
	p := startPlatform(t, database.SQLite, startFakes(t, 1))
	p.credit(t, 50000)
	svc := p.order(t, "vps-small")
	p.waitService(t, svc, "active", func(s serviceJSON) bool { return s.Status == "active" })
	var project struct {
		ID string `json:"id"`
	}
	p.must(t, 201, "POST", "/api/v1/accounts/"+p.account+"/projects", p.customer, map[string]any{"name": "Shop"}, &project)
	p.must(t, 200, "POST", "/api/v1/accounts/"+p.account+"/projects/"+project.ID+"/services", p.customer, map[string]any{"service_ids": []string{svc}}, nil)

	base := p.c.base
	do(t, ctx, "logging in", chromedp.Navigate(base+"/login"),
		fill(`input[name=email]`, "ada@example.net"), fill(`input[name=password]`, "correct horse battery"),
		click(`button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`[data-balance]`)))
	do(t, ctx, "opening the project's billing", chromedp.Navigate(base+"/projects/"+project.ID+"/billing"),
		chromedp.WaitVisible(chromedp.CSS(`[data-renewals] tbody tr`)))
	if got := text(t, ctx, `h1`); got != "Shop: billing" {
		t.Errorf("the heading reads %q", got)
	}
	if got := text(t, ctx, `[data-renewals] tbody tr`); !strings.Contains(got, "monthly") {
		t.Errorf("the renewal row reads %q, want the monthly renewal", got)
	}
	if got := text(t, ctx, `[data-spend]`); !strings.Contains(got, "Nothing invoiced") {
		t.Errorf("the spend reads %q: the order's invoice was written before the service joined the project", got)
	}
	checkPage(t, ctx, "project-billing")

	csv, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const r = await fetch(document.querySelector('a[data-action=csv]').href)
		return r.status + ' ' + r.headers.get('content-type') + '\n' + await r.text()
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := strings.Cut(csv, "\n")
	if head != "200 text/csv; charset=utf-8" {
		t.Errorf("the CSV link answers %q", head)
	}
	if !strings.HasPrefix(body, "section,month,service_id,service,cycle,renews_on,amount,currency\n") || !strings.Contains(body, "\nrenewal,,"+svc+",") {
		t.Errorf("the CSV has no header or no renewal of %s:\n%s", svc, body)
	}
}
