package tests

import (
	"testing"

	"github.com/ezscale/platform/core/database"
)

// TestProvisionAfterALostCreateAnswer: through the real binary and the real
// VirtFusion plugin process, the panel creates the VPS but the answer to
// POST /servers is lost and the plugin cannot look at once (the listing of
// the customer's servers fails too). The attempt fails, the core retries,
// and the retry adopts the server the panel kept: the service runs on one
// server, created once.
func TestProvisionAfterALostCreateAnswer(t *testing.T) {
	t.Parallel()
	f := startFakes(t, 1)
	p := startPlatform(t, database.SQLite, f)
	p.credit(t, 999)
	control(t, f.vfRoot, "/__fake/lose", map[string]any{"route": "POST /api/v1/servers"})
	control(t, f.vfRoot, "/__fake/failures", map[string]any{"route": "GET /api/v1/servers/user/{id}", "status": 503, "skip": 1})

	id := p.order(t, "vps-small")
	svc := p.waitService(t, id, "active", func(s serviceJSON) bool { return s.Status == "active" })
	if n, posts := f.vf.ServerCount(), f.vf.Calls("POST /api/v1/servers"); n != 1 || posts != 1 {
		t.Fatalf("%d servers after %d creates, want 1 after 1", n, posts)
	}
	s, _, ok := f.vf.ServerSnapshot(1)
	if !ok || svc.ExternalID != "1" || s.Name != "ezscale-"+id || s.State != "queued" {
		t.Errorf("service %+v on server %+v, want server 1 named and built", svc, s)
	}
	// The listings: before the create, the failed look after it, and the
	// retry's.
	if n := f.vf.Calls("GET /api/v1/servers/user/{id}"); n < 3 {
		t.Errorf("%d listings of the customer's servers, want a retry's (3 or more)", n)
	}
}
