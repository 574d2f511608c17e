package tests

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/support"
	"github.com/ezscale/platform/plugins/anthropic/fakeanthropic"
	"github.com/ezscale/platform/plugins/supportpal/fakesupportpal"
	"github.com/ezscale/platform/tests/testbin"
)

// TestConsoleSupport walks the Support page in Chromium against a core
// whose assistant and helpdesk are the real plugin processes
// (ezscale-plugin-anthropic, ezscale-plugin-supportpal) on their fakes:
// the customer starts a conversation, asks, watches the answer stream in
// with its source article, rates it, hands over to a person and gets the
// ticket's link; an operator's reply in the helpdesk shows in the
// conversation once polled, and the customer's reply there reaches the
// SupportPal ticket once; staff see the numbers and the knowledge base's
// article count on the staff Support page. Every state passes axe-core with no CSP violation.
func TestConsoleSupport(t *testing.T) {
	t.Parallel()
	anthropicBin, err := testbin.Plugin("anthropic")
	if err != nil {
		t.Fatal(err)
	}
	supportpalBin, err := testbin.Plugin("supportpal")
	if err != nil {
		t.Fatal(err)
	}
	fa := httptest.NewServer(fakeanthropic.New(fakeanthropic.Options{RequestsPerMinute: -1}))
	t.Cleanup(fa.Close)
	sp := fakesupportpal.New(fakesupportpal.Options{})
	fs := httptest.NewServer(sp)
	t.Cleanup(fs.Close)
	kb := t.TempDir()
	if err := os.WriteFile(filepath.Join(kb, "refunds.md"), []byte("# Refunds\n\nA refund of an unused period is credited to your balance."), 0o600); err != nil {
		t.Fatal(err)
	}
	pc := startProjectsConsole(t, func(c *config.Config) {
		c.Support.Assistant, c.Support.Helpdesk, c.Support.KnowledgeDir = "anthropic", "supportpal", kb
		c.Support.KnowledgeURL = "https://help.example.com/kb"
		c.Plugin = []config.Plugin{
			{Name: "anthropic", Path: anthropicBin, Enabled: true, Config: map[string]any{"api_key": fakeanthropic.DefaultAPIKey, "base_url": fa.URL}},
			{Name: "supportpal", Path: supportpalBin, Enabled: true, Config: map[string]any{"base_url": fs.URL + "/api",
				"api_token": fakesupportpal.DefaultToken, "department_id": fakesupportpal.DepartmentSupport}},
		}
	})
	bg := context.Background()
	if err := pc.app.StartPlugins(bg); err != nil {
		t.Fatal(err)
	}
	ctx, base := pc.ctx, pc.base

	do(t, ctx, "opening Support", chromedp.Navigate(base+"/support"), chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	checkPage(t, ctx, "support-empty")
	do(t, ctx, "starting a conversation", click(`[data-action=new-conversation]`), chromedp.WaitVisible(chromedp.CSS(`form[data-form=ask]`)))
	checkPage(t, ctx, "support-new")
	do(t, ctx, "asking nothing", click(`form[data-form=ask] button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`#support-question-error`)))
	do(t, ctx, "asking", fill(`#support-question`, "How do refunds work?"), click(`form[data-form=ask] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`li[data-role=assistant][data-message] [data-citations] a`)))
	answer := text(t, ctx, `li[data-role=assistant][data-message] .message-text`)
	if !strings.Contains(answer, "You asked: How do refunds work?") || strings.Contains(answer, "[kb:") {
		t.Errorf("the answer reads %q, want the fake's echo without citation markers", answer)
	}
	if got := text(t, ctx, `[data-citations] a`); got != "Refunds" {
		t.Errorf("the source reads %q", got)
	}
	checkPage(t, ctx, "support-answer")
	do(t, ctx, "rating the answer", click(`[data-rate=helpful]`), chromedp.WaitVisible(chromedp.CSS(`[data-rate=helpful][aria-pressed=true]`)))

	do(t, ctx, "talking to a person", click(`[data-action=escalate]`), chromedp.WaitVisible(chromedp.CSS(`[data-ticket] a`)))
	checkPage(t, ctx, "support-escalated")
	if sp.Tickets() != 1 {
		t.Fatalf("%d SupportPal tickets, want 1", sp.Tickets())
	}
	var page struct {
		Data []support.Conversation `json:"data"`
	}
	pc.api(t, 200, "GET", "/support/conversations", nil, &page)
	if len(page.Data) != 1 || page.Data[0].TicketID == "" {
		t.Fatalf("conversations %+v", page.Data)
	}
	ticket, err := strconv.ParseInt(page.Data[0].TicketID, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Reply(ticket, "We have credited the refund.", fakesupportpal.StatusAwaiting); err != nil {
		t.Fatal(err)
	}
	if st, err := pc.app.Support.Poll(bg); err != nil || st.Replies != 1 {
		t.Fatalf("poll: %+v, %v", st, err)
	}
	do(t, ctx, "reading the reply", chromedp.Navigate(base+"/support/"+page.Data[0].ID), chromedp.WaitVisible(chromedp.CSS(`li[data-role=staff]`)))
	if got := text(t, ctx, `li[data-role=staff] .message-text`); got != "We have credited the refund." {
		t.Errorf("the reply reads %q", got)
	}
	checkPage(t, ctx, "support-reply")

	// After the hand-over the customer answers in the same conversation:
	// the message reaches the SupportPal ticket as the customer's reply.
	if n := countNodes(t, ctx, `form[data-form=ask]`); n != 0 {
		t.Errorf("an escalated conversation still offers the question box")
	}
	do(t, ctx, "replying with nothing", click(`form[data-form=reply] button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`#support-reply-error`)))
	do(t, ctx, "replying to the support team", fill(`#support-reply`, "Thank you, it shows in my balance."),
		click(`form[data-form=reply] button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`li[data-role=customer]:last-child[data-message]`)))
	if got := text(t, ctx, `li[data-role=customer]:last-child .message-text`); got != "Thank you, it shows in my balance." {
		t.Errorf("the reply reads %q in the conversation", got)
	}
	if n := countNodes(t, ctx, `li[data-role=customer]:last-child [data-delivery=pending]`); n != 0 {
		t.Errorf("a reply the helpdesk took is still marked as sending")
	}
	checkPage(t, ctx, "support-customer-reply")
	var onTicket []string
	for _, m := range sp.Messages(ticket) {
		if m.By == 1 && strings.Contains(m.Text, "Thank you, it shows in my balance.") {
			onTicket = append(onTicket, m.Text)
		}
	}
	if len(onTicket) != 1 {
		t.Errorf("the SupportPal ticket holds %d copies of the customer's reply, want 1: %+v", len(onTicket), sp.Messages(ticket))
	}
	do(t, ctx, "the list", chromedp.Navigate(base+"/support"), chromedp.WaitVisible(chromedp.CSS(`tr[data-conversation]`)))
	checkPage(t, ctx, "support-list")

	if _, err := pc.app.Accounts.CreateStaff(bg, "helpdesk@example.net", "staff password for tests", "support"); err != nil {
		t.Fatal(err)
	}
	staff := sessionTab(t, base, "helpdesk@example.net", "staff password for tests")
	do(t, staff, "the staff Support page", chromedp.Navigate(base+"/staff/support"),
		chromedp.WaitVisible(chromedp.CSS(`[data-stat=escalated]`)), chromedp.WaitVisible(chromedp.CSS(`[data-stat=articles]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-conversation]`)))
	for sel, want := range map[string]string{`[data-stat=conversations]`: "1", `[data-stat=escalated]`: "1", `[data-stat=rated_helpful]`: "1",
		`[data-stat=articles]`: "1"} {
		if got := text(t, staff, sel); got != want {
			t.Errorf("%s shows %q, want %q", sel, got, want)
		}
	}
	checkPage(t, staff, "staff-support")

	// A reload that fails (the folder is gone) keeps the articles in use,
	// and the page shows why from the knowledge base's own status.
	if _, err := pc.app.Accounts.CreateStaff(bg, "kb-admin@example.net", "staff password for tests", "admin"); err != nil {
		t.Fatal(err)
	}
	admin := sessionTab(t, base, "kb-admin@example.net", "staff password for tests")
	do(t, admin, "the staff Support page as an admin", chromedp.Navigate(base+"/staff/support"),
		chromedp.WaitVisible(chromedp.CSS(`[data-action=reload-knowledge]`)))
	if err := os.RemoveAll(kb); err != nil {
		t.Fatal(err)
	}
	do(t, admin, "a reload of a folder that is gone", click(`[data-action=reload-knowledge]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-knowledge-error]`)))
	if got := text(t, admin, `[data-stat=articles]`); got != "1" {
		t.Errorf("after a failed reload the page shows %q articles, want the 1 still in use", got)
	}
	checkPage(t, admin, "staff-support-reload-failed")
}

// countNodes is how many elements match a selector now.
func countNodes(t testing.TB, ctx context.Context, sel string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		t.Fatalf("counting %s: %v", sel, err)
	}
	return n
}
