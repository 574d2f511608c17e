package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/monitoring"
)

// TestConsoleGameServerMonitoring: a game service's Players tab shows the
// players and max, the rank, the uptime, the player chart and the public
// listings (a link each, and GameTracker's banner as an embed snippet) from
// the monitors' readings, switches the chart to 30 days, and saves new
// monitor settings through the form (a refusal names the field first).
// Every state passes axe-core with no CSP violation.
func TestConsoleGameServerMonitoring(t *testing.T) {
	t.Parallel()
	pc := startProjectsConsole(t, func(c *config.Config) { c.Monitoring.Plugins = []string{"battlemetrics", "gametracker"} })
	ctx, base, db := pc.ctx, pc.base, pc.app.DB
	bg := context.Background()
	svc := pc.services(t, 1)[0]
	if _, err := db.NewRaw(`UPDATE plans SET service_type = 'game' WHERE id = ?`, pc.plan).Exec(bg); err != nil {
		t.Fatal(err)
	}
	pc.api(t, 200, "PUT", "/services/"+svc+"/monitoring/settings", map[string]any{"address": "203.0.113.10", "port": 28015, "game": "rust"}, nil)

	// The readings the sampling job would have stored.
	now := time.Now().UTC()
	for _, m := range []monitoring.Monitor{
		{Plugin: "battlemetrics", Status: "online", Players: 12, MaxPlayers: 50, Rank: 85, Map: "Procedural Map",
			ListingURL: "https://www.battlemetrics.com/servers/rust/4729828"},
		{Plugin: "gametracker", Status: "online", Players: 11, MaxPlayers: 50,
			ListingURL: "https://www.gametracker.com/server_info/203.0.113.10:28015/",
			BannerURL:  "https://cache.gametracker.com/server_info/203.0.113.10:28015/b_560_95_1.png"},
	} {
		if _, err := db.NewUpdate().Model((*monitoring.Monitor)(nil)).Where("service_id = ?", svc).Where("plugin = ?", m.Plugin).
			Set("status = ?, players = ?, max_players = ?, rank = ?, map = ?, listing_url = ?, banner_url = ?, last_sample_at = ?",
				m.Status, m.Players, m.MaxPlayers, m.Rank, m.Map, m.ListingURL, m.BannerURL, now).Exec(bg); err != nil {
			t.Fatal(err)
		}
	}
	var samples []monitoring.Sample
	for i := range 48 {
		samples = append(samples, monitoring.Sample{ServiceID: svc, Plugin: "battlemetrics", SampledAt: now.Add(-time.Duration(i) * time.Hour).Truncate(time.Second),
			Online: i != 5, Players: 10 + i%7, MaxPlayers: 50, Rank: 85})
	}
	if _, err := db.NewInsert().Model(&samples).Exec(bg); err != nil {
		t.Fatal(err)
	}

	do(t, ctx, "opening the Players tab", chromedp.Navigate(base+"/services/"+svc+"/players"),
		chromedp.WaitVisible(chromedp.CSS(`[data-monitoring]`)), chromedp.WaitVisible(chromedp.CSS(`[data-chart] canvas`)))
	for sel, want := range map[string]string{`[data-players]`: "12 / 50", `[data-rank]`: "#85", `[data-uptime]`: "97.92 %"} {
		if got := text(t, ctx, sel); got != want {
			t.Errorf("%s shows %q, want %q", sel, got, want)
		}
	}
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-listing] a')].map(a => a.href)`))
	if err != nil || len(links) != 2 || links[0] != "https://www.battlemetrics.com/servers/rust/4729828" {
		t.Errorf("listing links %v (%v)", links, err)
	}
	banner, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-listing=gametracker] input[data-banner]').value`))
	if err != nil || !strings.Contains(banner, `<img src="https://cache.gametracker.com/server_info/203.0.113.10:28015/b_560_95_1.png"`) {
		t.Errorf("banner embed %q (%v)", banner, err)
	}
	checkPage(t, ctx, "service-players")

	// The button is pressed at once; the chart and its caption follow when
	// the 30 days' samples arrive.
	do(t, ctx, "switching to 30 days", click(`.range button:nth-child(2)`),
		chromedp.WaitVisible(chromedp.CSS(`.range button[aria-pressed=true]:nth-child(2)`)))
	waitJS(t, ctx, "the chart of the last 30 days",
		`document.querySelector('figure.chart figcaption')?.textContent === 'Players (last 30 days)' && !!document.querySelector('[data-chart] canvas')`)

	do(t, ctx, "saving a bad port", fill(`input[name=port]`, "70000"), click(`form button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`input[name=port][aria-invalid=true]`)))
	checkPage(t, ctx, "service-players-refused")
	do(t, ctx, "saving new settings", fill(`input[name=port]`, "28016"), fill(`input[name=battlemetrics_id]`, "999"),
		click(`form button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`p.success`)))
	var st monitoring.Settings
	pc.api(t, 200, "GET", "/services/"+svc+"/monitoring/settings", nil, &st)
	if st.Port != 28016 || st.ListingIDs["battlemetrics"] != "999" {
		t.Errorf("settings after the form: %+v", st)
	}
}
