package tests

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ezscale/platform/tests/testbin"
)

// The browser tests drive Debian's Chromium (never a browser a tool
// downloads) headless, one process shared by every test, each test in its
// own browser context (its own cookies).
//
// The browser is Chromium's headless shell (Debian's
// chromium-headless-shell): the same Blink and V8 as the full browser,
// without the desktop browser's services, which cost the console tests
// more than half their browser CPU (docs/benchmarks.md, "Chromium's
// headless shell").

// chromiumPath is the browser EZSCALE_CHROMIUM names, else Debian's
// Chromium headless shell, else Debian's full Chromium (the same engine,
// at twice the CPU).
func chromiumPath() string {
	if p := os.Getenv("EZSCALE_CHROMIUM"); p != "" {
		return p
	}
	const shell, full = "/usr/bin/chromium-headless-shell", "/usr/bin/chromium"
	if _, err := os.Stat(shell); err != nil {
		if _, err := os.Stat(full); err == nil {
			return full
		}
	}
	return shell
}

var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

// closeBrowser ends the shared browser (TestMain calls it).
func closeBrowser() {
	if browser.cancel != nil {
		browser.cancel()
	}
}

// newTab opens a tab in a fresh browser context of the shared browser. It
// skips the test when Chromium is missing, and fails it under CI=true.
func newTab(t testing.TB) context.Context {
	t.Helper()
	path := chromiumPath()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium is missing at %s (apt-get install chromium-headless-shell): the browser tests must run in CI", path)
		}
		t.Skipf("Chromium is missing at %s (apt-get install chromium-headless-shell); skipping the browser test", path)
	}
	browser.once.Do(func() {
		dir, err := os.MkdirTemp("", "chromium-profile-")
		if err != nil {
			browser.err = err
			return
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 900),
		)
		ctx, cancelBrowser := chromedp.NewContext(alloc)
		browser.ctx = ctx
		browser.cancel = func() {
			cancelBrowser()
			cancelAlloc()
			os.RemoveAll(dir)
		}
		browser.err = chromedp.Do(ctx)
	})
	if browser.err != nil {
		t.Fatalf("starting Chromium: %v", browser.err)
	}
	ctx, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// A bound for the whole test, far above its need: conditions, not
	// time, are what the steps wait on.
	ctx, cancelTimeout := context.WithTimeout(ctx, 15*time.Minute)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	// Record every Content-Security-Policy violation, so a check can
	// assert the console runs under its strict policy.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
			window.__errors = []; addEventListener('error', e => window.__errors.push(String(e.message)));
			addEventListener('unhandledrejection', e => window.__errors.push(String(e.reason && e.reason.stack || e.reason)));`,
	}); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// do runs browser steps, failing the test with what was being done and
// what the page showed. Each call is bounded far above its need, so a
// step that can never happen fails with the page's state.
func do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(step, steps...); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		shot := filepath.Join(os.TempDir(), "ezscale-console-failure.png")
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(shot, png, 0o644)
		}
		t.Fatalf("%s: %v\npage (screenshot in %s): %s", what, err, shot, page)
	}
}

//go:embed testdata/axe.min.js
var axeSource string

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkPage runs axe-core on the page as it is (zero serious or critical
// violations allowed), asserts no CSP violation happened, and saves a
// screenshot named name when screenshots are asked for.
func checkPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	// axe-core is half a megabyte of script: it is evaluated once per
	// document, not once per check, since the console moves between
	// pages without loading a new document.
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe !== 'undefined'`))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
			t.Fatalf("%s: loading axe-core: %v", name, err)
		}
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ['violations']}).then(r =>
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
		 .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: running axe-core: %v", name, err)
	}
	for _, v := range violations {
		t.Errorf("%s: accessibility (%s) %s: %s at %s", name, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, ", "))
	}
	csp, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp || []`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range csp {
		t.Errorf("%s: Content-Security-Policy violation: %s", name, c)
	}
	errs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__errors || []`))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s: script error: %s", name, e)
	}
	screenshot(t, ctx, name)
}

// screenshot saves the page as docs/console/<name>.png when
// EZSCALE_SCREENSHOTS=1 (`make screenshots`), for the README.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("EZSCALE_SCREENSHOTS") != "1" {
		return
	}
	// From the top, so the sticky header is not painted over the page.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.scrollTo(0, 0); true`)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	root, err := testbin.Root()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// text returns an element's text once it is visible.
func text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// waitJS waits until a JavaScript condition on the page holds.
func waitJS(t testing.TB, ctx context.Context, what, cond string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(0))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// click scrolls an element to the middle of the window (clear of the
// sticky header) and clicks it as a mouse would.
func click(sel string) chromedp.Action[chromedp.Void] {
	center := fmt.Sprintf(`(() => { document.querySelector(%q).scrollIntoView({block: 'center'}); return true })()`, sel)
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](center))
			return err
		}),
		chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible),
	)
}

// fill empties a form field (telling the app, as a person deleting its
// text would) and types value into it.
func fill(sel, value string) chromedp.Action[chromedp.Void] {
	clear := fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = ''; el.dispatchEvent(new Event('input', {bubbles: true})); return true })()`, sel)
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](clear))
			return err
		}),
		chromedp.SendKeys(chromedp.CSS(sel), value),
	)
}
