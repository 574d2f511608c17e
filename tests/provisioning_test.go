package tests

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/testkit"
)

// backend is what a test reads of one fake's state for a service.
type backend struct {
	// createRoute is the fake's route that creates the service (where a
	// failure is injected), root the fake's base URL (its /__fake/ API).
	createRoute, root string
	// exists reports whether the service exists at the backend; check
	// verifies it was built from the plan (the right package or limits).
	exists    func(t *testing.T, ext string) bool
	check     func(t *testing.T, ext string)
	suspended func(t *testing.T, ext string) bool
	// powerCalls counts the power calls the fake saw.
	powerCalls func() int
	// usage sets what the fake reports for the service and returns the
	// CPU the sample should hold (in hundredths of a percent); nil when
	// the plugin reports no usage.
	usage func(t *testing.T, ext string) int64
}

func vpsBackend(f *fakes) backend {
	id := func(t *testing.T, ext string) int64 {
		t.Helper()
		n, err := strconv.ParseInt(ext, 10, 64)
		if err != nil {
			t.Fatalf("VirtFusion external id %q: %v", ext, err)
		}
		return n
	}
	return backend{
		createRoute: "POST /api/v1/servers", root: f.vfRoot,
		exists: func(t *testing.T, ext string) bool { _, _, ok := f.vf.ServerSnapshot(id(t, ext)); return ok },
		check: func(t *testing.T, ext string) {
			s, _, _ := f.vf.ServerSnapshot(id(t, ext))
			r := s.Settings.Resources
			// vps-small is package 2: 2 GB, 2 cores, 40 GB, 1000 GB traffic.
			if r.Memory != 2048 || r.CPUCores != 2 || r.Storage != 40 || r.Traffic != 1000 || s.State != "queued" || s.Built == nil {
				t.Errorf("VirtFusion server %d: state %s built %v resources %+v, want package 2 built", s.ID, s.State, s.Built, r)
			}
		},
		suspended:  func(t *testing.T, ext string) bool { s, _, _ := f.vf.ServerSnapshot(id(t, ext)); return s.Suspended },
		powerCalls: func() int { return f.vf.Calls("POST /api/v1/servers/{id}/power/{action}") },
		usage: func(t *testing.T, ext string) int64 {
			if err := f.vf.SetUsage(id(t, ext), 5<<20, 7<<20, 37.5, 512, 3); err != nil {
				t.Fatal(err)
			}
			return 3750
		},
	}
}

func gameBackend(f *fakes) backend {
	id := func(t *testing.T, ext string) int64 {
		n, err := strconv.ParseInt(ext, 10, 64)
		if err != nil {
			t.Fatalf("Pterodactyl external id %q: %v", ext, err)
		}
		return n
	}
	return backend{
		createRoute: "POST /api/application/servers", root: f.ptURL,
		exists: func(t *testing.T, ext string) bool { _, _, ok := f.pt.ServerSnapshot(id(t, ext)); return ok },
		check: func(t *testing.T, ext string) {
			s, _, _ := f.pt.ServerSnapshot(id(t, ext))
			// minecraft-2gb: egg 1, 2 GB, 10 GB disk, 200 % CPU.
			if s.Egg != 1 || s.Limits.Memory != 2048 || s.Limits.Disk != 10240 || s.Limits.CPU != 200 {
				t.Errorf("Pterodactyl server %d: egg %d limits %+v, want egg 1, 2048 MB, 10240 MB, 200 %%", s.ID, s.Egg, s.Limits)
			}
		},
		suspended:  func(t *testing.T, ext string) bool { s, _, _ := f.pt.ServerSnapshot(id(t, ext)); return s.Suspended },
		powerCalls: func() int { return f.pt.Calls("POST /api/client/servers/{server}/power") },
	}
}

func workspaceBackend(f *fakes) backend {
	user := func(t *testing.T, ext string) (map[string]any, bool) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"api_key": "kasm-test-key", "api_key_secret": "kasm-test-secret", "target_user": map[string]string{"user_id": ext}})
		resp, err := http.Post(f.kasmURL+"/api/public/get_user", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			User         map[string]any `json:"user"`
			ErrorMessage string         `json:"error_message"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out.User, out.User != nil
	}
	return backend{
		createRoute: "POST /api/public/request_kasm", root: f.kasmURL,
		exists: func(t *testing.T, ext string) bool { _, ok := user(t, ext); return ok },
		check: func(t *testing.T, ext string) {
			body, _ := json.Marshal(map[string]any{"api_key": "kasm-test-key", "api_key_secret": "kasm-test-secret"})
			resp, err := http.Post(f.kasmURL+"/api/public/get_kasms", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				Kasms []struct {
					UserID  string `json:"user_id"`
					ImageID string `json:"image_id"`
				} `json:"kasms"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			for _, k := range out.Kasms {
				if k.UserID == ext && k.ImageID == "01366df3a03b4bccbb8c913846594826" {
					return
				}
			}
			t.Errorf("no Chrome session for Kasm user %s: %+v", ext, out.Kasms)
		},
		suspended: func(t *testing.T, ext string) bool {
			u, _ := user(t, ext)
			d, _ := u["disabled"].(bool)
			return d
		},
		powerCalls: func() int {
			return f.kasm.Calls("POST /api/public/destroy_kasm") + f.kasm.Calls("POST /api/public/request_kasm")
		},
	}
}

// TestOrderToRunningVPS is the VPS's whole life through the real binary and
// the real VirtFusion plugin process against the fake, on both databases.
func TestOrderToRunningVPS(t *testing.T) {
	t.Parallel()
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			f := startFakes(t, 1)
			orderToRunning(t, d, f, "vps-small", 999, vpsBackend(f))
		})
	}
}

// TestOrderToRunningGameServer: the same life for a Pterodactyl game
// server (SQLite).
func TestOrderToRunningGameServer(t *testing.T) {
	t.Parallel()
	f := startFakes(t, 1)
	orderToRunning(t, database.SQLite, f, "minecraft-2gb", 799, gameBackend(f))
}

// TestOrderToRunningWorkspace: the same life for a Kasm workspace
// (SQLite).
func TestOrderToRunningWorkspace(t *testing.T) {
	t.Parallel()
	f := startFakes(t, 1)
	orderToRunning(t, database.SQLite, f, "workspace-chrome", 499, workspaceBackend(f))
}

// orderToRunning: a customer signs up; staff credit the account; the
// customer orders the plan and pays with credit; the service is created
// through the real plugin process at the fake, from the plan; a restart
// reaches the backend; usage is collected (when the plugin reports it). A
// second order meets a backend failure: it shows on the service (status,
// attempts, last error) to the customer and to staff, is retried, and the
// service runs once the backend heals. A billing run past the due date
// suspends both for non-payment at the backend (power is then refused), a
// later one terminates them there.
func orderToRunning(t *testing.T, dialect database.Dialect, f *fakes, plan string, price int64, be backend) {
	p := startPlatform(t, dialect, f)
	p.credit(t, price)
	id := p.order(t, plan)
	svc := p.waitService(t, id, "active", func(s serviceJSON) bool { return s.Status == "active" })
	if svc.ExternalID == "" || !be.exists(t, svc.ExternalID) || svc.Environment != "production" {
		t.Fatalf("active service %+v does not exist at the backend", svc)
	}
	be.check(t, svc.ExternalID)

	// Reboot.
	before := be.powerCalls()
	var power struct {
		Action string `json:"action"`
	}
	p.must(t, 200, "POST", "/api/v1/accounts/"+p.account+"/services/"+id+"/power", p.customer, map[string]any{"action": "restart"}, &power)
	if n := be.powerCalls(); n <= before || power.Action != "restart" {
		t.Errorf("restart: %d power calls at the backend (before: %d), answer %+v", n, before, power)
	}

	// Usage, pulled by the periodic collector (every 10 s here).
	if be.usage != nil {
		cpu := be.usage(t, svc.ExternalID)
		var samples struct {
			Data []struct {
				CPU int64 `json:"cpu_centipercent"`
				RAM int64 `json:"ram_total_bytes"`
			} `json:"data"`
		}
		testkit.WaitFor(t, "a usage sample", func() bool {
			p.must(t, 200, "GET", "/api/v1/accounts/"+p.account+"/services/"+id+"/usage", p.customer, nil, &samples)
			return len(samples.Data) > 0 && samples.Data[len(samples.Data)-1].CPU == cpu
		})
	}

	// A backend failure while provisioning a second service.
	control(t, be.root, "/__fake/failures", map[string]any{"route": be.createRoute, "status": 503, "times": 1000})
	p.credit(t, price)
	failing := p.order(t, plan)
	st := p.waitService(t, failing, "retrying with the error shown", func(s serviceJSON) bool {
		return s.Status == "provisioning" && s.ProvisionAttempts >= 2 && s.LastError != ""
	})
	var staffView serviceJSON
	p.must(t, 200, "GET", "/api/v1/admin/services/"+failing, p.staff, nil, &staffView)
	if staffView.LastError == "" || staffView.ProvisionAttempts < 2 {
		t.Errorf("staff view of the failing service: %+v", staffView)
	}
	var audit struct {
		Data []struct {
			Action string `json:"action"`
		} `json:"data"`
	}
	p.must(t, 200, "GET", "/api/v1/admin/audit-events?target_id="+failing, p.staff, nil, &audit)
	retries := 0
	for _, e := range audit.Data {
		if e.Action == "billing.service.provision_retry" {
			retries++
		}
	}
	if retries == 0 {
		t.Errorf("no billing.service.provision_retry audit event for %s: %+v", failing, audit.Data)
	}
	t.Logf("while the backend failed: status %s, %d attempts, last error %q", st.Status, st.ProvisionAttempts, st.LastError)
	control(t, be.root, "/__fake/reset", nil)
	healed := p.waitService(t, failing, "active after the backend healed", func(s serviceJSON) bool { return s.Status == "active" })
	if healed.LastError != "" || !be.exists(t, healed.ExternalID) {
		t.Errorf("healed service %+v", healed)
	}

	// Non-payment: the credit is spent, so the renewals stay unpaid; a run
	// 8 days past the due date (suspend_after_days 7) suspends both.
	due := *svc.PeriodEnd
	p.billingRun(t, due.Add(8*24*time.Hour))
	for _, sid := range []string{id, failing} {
		s := p.waitService(t, sid, "suspended", func(s serviceJSON) bool { return s.Status == "suspended" })
		if len(s.Suspensions) != 1 || s.Suspensions[0] != "non_payment" {
			t.Errorf("suspensions of %s: %v", sid, s.Suspensions)
		}
		testkit.WaitFor(t, "the backend to suspend "+s.ExternalID, func() bool { return be.suspended(t, s.ExternalID) })
	}
	p.must(t, 409, "POST", "/api/v1/accounts/"+p.account+"/services/"+id+"/power", p.customer, map[string]any{"action": "boot"}, nil)

	// 31 days past due (terminate_after_days 30): terminated there.
	p.billingRun(t, due.Add(31*24*time.Hour))
	for _, sid := range []string{id, failing} {
		s := p.waitService(t, sid, "terminated", func(s serviceJSON) bool { return s.Status == "terminated" })
		testkit.WaitFor(t, "the backend to delete "+s.ExternalID, func() bool { return !be.exists(t, s.ExternalID) })
	}
}
