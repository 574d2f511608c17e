package fakebattlemetrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/ezscale/platform/plugins/battlemetrics/fakebattlemetrics"
	"github.com/ezscale/platform/plugins/internal/jsonshape"
)

// TestServesTheDocumentedShapes: a server and a player-count history have
// every field of the reference's example bodies (testdata; the server's
// details are per game, and the fake's carry the map).
func TestServesTheDocumentedShapes(t *testing.T) {
	t.Parallel()
	fake := fakebattlemetrics.New(fakebattlemetrics.Options{})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	id := fake.Put(fakebattlemetrics.Server{Name: "Rusty Moose |EU Main|", Game: "rust", IP: "205.178.168.176", Address: "main.eu.moose.gg",
		Port: 28010, PortQuery: 28015, Players: 244, MaxPlayers: 275, Rank: 85, Map: "Moose Maps", Country: "GB"})
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	fake.AddSamples(id, fakebattlemetrics.Sample{At: at, Players: 42})
	for file, path := range map[string]string{
		"server.json":               "/servers/" + id,
		"player-count-history.json": "/servers/" + id + "/player-count-history?start=2026-11-30T00:00:00Z&stop=2026-12-01T00:00:00Z&resolution=60",
	} {
		want, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing, err := jsonshape.Missing(want, got)
		if err != nil || len(missing) > 0 {
			t.Errorf("%s: the fake lacks %v (%v); it served %s", file, missing, err, got)
		}
	}
}
