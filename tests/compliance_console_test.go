package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/compliance"
)

// setValue sets a form field's value as a person picking it would (date
// inputs take no typed keys reliably) and tells the app.
func setValue(sel, value string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q; el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); return true })()`, sel, value)
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
			return err
		}),
	)
}

// TestConsoleCompliance: a staff owner, in the console, records a security
// policy with its document (uploaded from a file), approves its version,
// generates and signs off an access review, and exports the year: the zip
// the browser saves verifies against its manifest and holds the document.
// Every compliance page passes axe-core with no CSP violation.
func TestConsoleCompliance(t *testing.T) {
	t.Parallel()
	ctx := newTab(t)
	dir := t.TempDir()
	a, c := startInProcess(t, func(cfg *config.Config) { cfg.Blob.Dir = filepath.Join(dir, "blobs") })
	t.Cleanup(func() { _ = chromedp.Do(ctx, chromedp.Navigate("about:blank")) })
	base := c.base
	const email, password = "owner@example.net", "staff password for tests"
	if _, err := a.Accounts.CreateStaff(context.Background(), email, password, "owner"); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := http.Post(base+"/api/v1/auth/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: ck.Name, Value: ck.Value, URL: base + ck.Path, Path: ck.Path}); err != nil {
			t.Fatal(err)
		}
	}
	doc := []byte("%PDF-1.7 Information Security Policy, version 1.0")
	docPath := filepath.Join(dir, "isp-1.0.pdf")
	if err := os.WriteFile(docPath, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	year := "2026"

	do(t, ctx, "opening the compliance pages", chromedp.Navigate(base+"/staff/compliance"), chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	checkPage(t, ctx, "staff-compliance-empty")
	do(t, ctx, "recording a policy with its document",
		click(`[data-action=new-policy]`),
		fill(`form[data-form=new-policy] input[name=title]`, "Information Security Policy"),
		setValue(`form[data-form=new-policy] input[name=next_review]`, year+"-12-01"),
		setValue(`form[data-form=new-policy] input[name=effective_date]`, year+"-01-15"),
		chromedp.SetUploadFiles(chromedp.CSS(`form[data-form=new-policy] input[type=file]`), []string{docPath}),
		click(`form[data-form=new-policy] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-policy] a`)))
	checkPage(t, ctx, "staff-compliance-policies")
	do(t, ctx, "approving its version",
		click(`tr[data-policy] a`),
		click(`tr[data-version="1.0"] button[data-action=approve]`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-version="1.0"] [data-approved]`)))
	checkPage(t, ctx, "staff-compliance-policy")

	for _, tab := range []string{"evidence", "vendors"} {
		do(t, ctx, "opening "+tab, chromedp.Navigate(base+"/staff/compliance/"+tab), chromedp.WaitVisible(chromedp.CSS(`.empty`)))
		checkPage(t, ctx, "staff-compliance-"+tab)
	}
	do(t, ctx, "generating and signing off an access review",
		chromedp.Navigate(base+"/staff/compliance/access-reviews"),
		click(`[data-action=generate-review]`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-staff="`+email+`"]`)),
		fill(`form[data-form=sign-off] textarea[name=note]`, "reviewed"),
		click(`form[data-form=sign-off] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-signed-off]`)))
	checkPage(t, ctx, "staff-compliance-access-review")

	// The export button saves the zip as a download: catch it.
	downloads := t.TempDir()
	progress := chromedp.Events(ctx, cdpbrowser.DownloadProgress)
	do(t, ctx, "exporting the year",
		chromedp.Navigate(base+"/staff/compliance/export"),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &[]bool{true}[0],
				// The tab has a browser context of its own.
				BrowserContextID: chromedp.FromContext(ctx).BrowserContextID})
			return err
		}),
		setValue(`form[data-form=export] input[name=from]`, year+"-01-01"),
		setValue(`form[data-form=export] input[name=to]`, year+"-12-31"),
		click(`form[data-form=export] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-export-ready] a`)))
	checkPage(t, ctx, "staff-compliance-export")
	var saved string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCanceled {
			t.Fatal("the browser cancelled the export's download")
		}
		if ev.State == cdpbrowser.DownloadProgressStateCompleted {
			saved = filepath.Join(downloads, ev.GUID)
			break
		}
	}
	zipBytes, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := compliance.Verify(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, f := range rep.Manifest.Files {
		if strings.HasPrefix(f.Path, "policies/") {
			docs = append(docs, f.Path)
		}
	}
	if !rep.OK() || len(docs) != 1 || !strings.HasSuffix(docs[0], "-isp-1.0.pdf") || rep.Manifest.AuditHead.Seq == 0 {
		t.Fatalf("the exported zip: problems %v, policy documents %v, audit head %+v", rep.Problems, docs, rep.Manifest.AuditHead)
	}
}
