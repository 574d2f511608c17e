package tests

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/app"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// startInProcess runs a core in the test's process over its own SQLite
// database, configured as production's defaults with the options applied,
// and serves its handler (API and console) on a local HTTP server. It has
// no plugin blocks unless an option adds them; plugin processes keep their
// state in the test's directory, never in the checkout. The returned core
// calls the API of that server.
//
// Cleanups stop the notification center (its streams would hold the
// server open), the server and the core; a test with a browser tab on the
// console registers its leaving of the page after this, so that it runs
// first.
func startInProcess(t *testing.T, opts ...func(*config.Config)) (*app.App, *core) {
	t.Helper()
	cfg := config.Default()
	cfg.Database.URL = databasetest.URL(t, database.SQLite)
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Sources = map[string]string{}
	cfg.Plugins.DataDir = t.TempDir()
	for _, o := range opts {
		o(&cfg)
	}
	a, err := app.New(context.Background(), &cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(a.Notify.Stop)
	return a, &core{base: srv.URL}
}
