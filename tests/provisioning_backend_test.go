package tests

import (
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/plugins/kasm/fakekasm"
	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
	"github.com/ezscale/platform/plugins/virtfusion/fakevirtfusion"
)

// startFakesWithInstall is startFakes with game servers that stay
// "installing" for an hour of the returned clock.
func startFakesWithInstall(t *testing.T) (*fakes, *testkit.Clock) {
	t.Helper()
	clock := testkit.NewClock(time.Now())
	f := &fakes{
		vf: fakevirtfusion.New(fakevirtfusion.Options{}),
		pt: fakepterodactyl.New(fakepterodactyl.Options{ApplicationRateLimit: -1, ClientRateLimit: -1,
			InstallDuration: time.Hour, NowFunc: clock.Now}),
		kasm: fakekasm.New(fakekasm.Options{}),
	}
	vf, pt, kasm := httptest.NewServer(f.vf), httptest.NewServer(f.pt), httptest.NewServer(f.kasm)
	t.Cleanup(func() { vf.Close(); pt.Close(); kasm.Close() })
	f.vfRoot, f.vfURL, f.ptURL, f.kasmURL = vf.URL, vf.URL+fakevirtfusion.BasePath, pt.URL, kasm.URL
	return f, clock
}

type backendView struct {
	Status            string `json:"status"`
	BackendState      string `json:"backend_state"`
	ExternalID        string `json:"external_id"`
	ProvisionAttempts int    `json:"provision_attempts"`
	LastError         string `json:"last_error"`
}

// TestProvisioningWaitsForTheGameServerToInstall: through the real binary
// and the real Pterodactyl plugin, a game server the panel is still
// installing is shown as provisioning (backend_state installing), not
// active, until the panel has installed it; then it is active.
func TestProvisioningWaitsForTheGameServerToInstall(t *testing.T) {
	t.Parallel()
	f, clock := startFakesWithInstall(t)
	p := startPlatform(t, database.SQLite, f)
	p.credit(t, 799)
	id := p.order(t, "minecraft-2gb")
	var v backendView
	testkit.WaitFor(t, "the game server to be created and installing", func() bool {
		p.must(t, 200, "GET", "/api/v1/admin/services/"+id, p.staff, nil, &v)
		return v.BackendState == "installing"
	})
	if v.Status != "provisioning" || v.ExternalID == "" {
		t.Fatalf("while the panel installs: %+v, want provisioning with its external id", v)
	}
	polls := f.pt.Calls("GET /api/application/servers/{id}")
	testkit.WaitFor(t, "a readiness poll while installing", func() bool { return f.pt.Calls("GET /api/application/servers/{id}") > polls })
	p.must(t, 200, "GET", "/api/v1/admin/services/"+id, p.staff, nil, &v)
	if v.Status != "provisioning" {
		t.Fatalf("after a poll that found it installing: %+v", v)
	}
	clock.Add(2 * time.Hour) // the panel finishes the install
	p.waitService(t, id, "active once installed", func(s serviceJSON) bool { return s.Status == "active" })
	p.must(t, 200, "GET", "/api/v1/admin/services/"+id, p.staff, nil, &v)
	if v.BackendState != "active" || v.LastError != "" {
		t.Errorf("installed: %+v", v)
	}
}

// TestProvisioningCapacityShortageRefundsThePaidOrder: the panel answers
// every Create with its "no allocations satisfying the requirements"
// refusal; the real plugin reports a capacity shortage, the core retries
// it (not a permanent failure at the first answer) and, when the attempts
// run out, fails the service and returns the payment to credit.
func TestProvisioningCapacityShortageRefundsThePaidOrder(t *testing.T) {
	t.Parallel()
	f := startFakes(t, 1)
	cfg := provConfig(t, databasetest.URL(t, database.SQLite), f)
	src, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "provision_max_attempts = 12") {
		t.Fatalf("the harness config changed:\n%s", src)
	}
	src = []byte(strings.Replace(string(src), "provision_max_attempts = 12", "provision_max_attempts = 3", 1))
	if err := os.WriteFile(cfg, src, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startPlatformWith(t, cfg)
	p.credit(t, 799)
	control(t, f.ptURL, "/__fake/failures", map[string]any{"route": "POST /api/application/servers", "status": 400, "times": 1000,
		"message": "No allocations satisfying the requirements for automatic deployment were found."})
	id := p.order(t, "minecraft-2gb")
	failed := p.waitService(t, id, "failed after its attempts", func(s serviceJSON) bool { return s.Status == "failed" })
	if failed.ProvisionAttempts != 3 || !strings.Contains(failed.LastError, "capacity") {
		t.Errorf("failed service: %d attempts, last error %q; want 3 attempts of a capacity shortage", failed.ProvisionAttempts, failed.LastError)
	}
	if n := f.pt.Calls("POST /api/application/servers"); n != 3 {
		t.Errorf("the panel saw %d create calls, want 3", n)
	}
	var credit struct {
		Amount int64 `json:"amount"`
	}
	p.must(t, 200, "GET", "/api/v1/accounts/"+p.account+"/credit", p.customer, nil, &credit)
	if credit.Amount != 799 {
		t.Errorf("credit balance %d after the failed order, want 799 (the payment returned)", credit.Amount)
	}
}
