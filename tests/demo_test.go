package tests

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ezscale/platform/tests/testbin"
)

// TestDemo runs the sandbox exactly as `make demo` does (scripts/demo.sh
// with the binaries it expects) and walks docs/demo.md's path through it: a
// customer signs up, staff grants credit, and a VPS, a game server and a
// workspace are ordered and reach active at the fakes; the VPS restarts.
// SIGTERM to the script stops the core and the fakes, leaving nothing
// listening. It keeps the README's promise of a sandbox that works.
func TestDemo(t *testing.T) {
	root, err := testbin.Root()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for name, path := range provisionerBins(t) {
		if err := os.Symlink(path, filepath.Join(bin, "ezscale-plugin-"+name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(ezscaleBin, filepath.Join(bin, "ezscale")); err != nil {
		t.Fatal(err)
	}
	if _, err := testbin.Fakes(bin); err != nil {
		t.Fatal(err)
	}

	addr := freeAddr(t)
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "demo.sh"))
	cmd.Env = append(os.Environ(),
		"EZSCALE_DEMO_BIN="+bin,
		"EZSCALE_DEMO_DATA="+filepath.Join(t.TempDir(), "demo"),
		"EZSCALE_DEMO_VIRTFUSION_ADDR=127.0.0.1:0",
		"EZSCALE_DEMO_PTERODACTYL_ADDR=127.0.0.1:0",
		"EZSCALE_DEMO_KASM_ADDR=127.0.0.1:0",
		"EZSCALE_SERVER_LISTEN="+addr,
		"EZSCALE_SERVER_PUBLIC_URL=http://"+addr,
	)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	// Its own process group, so a failed test can stop the script and
	// everything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("make demo output:\n%s", logs.String())
		}
	})

	base := "http://" + addr
	waitUntil(t, "the demo core to be ready", func() bool {
		select {
		case err := <-done:
			t.Fatalf("scripts/demo.sh exited before serving: %v", err)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	p := &platform{c: &core{base: base}}
	p.staff = p.login(t, "admin@demo.test", "demo admin password")
	var signup struct {
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	p.must(t, 201, "POST", "/api/v1/auth/signup", "", map[string]any{"email": "alice@example.net", "password": "correct horse battery"}, &signup)
	p.account = signup.Account.ID
	p.customer = p.login(t, "alice@example.net", "correct horse battery")
	p.credit(t, 5000)

	var vps string
	for _, plan := range []string{"vps-small", "minecraft-2gb", "workspace-chrome"} {
		id := p.order(t, plan)
		s := p.waitService(t, id, "active", func(s serviceJSON) bool { return s.Status == "active" })
		if s.ExternalID == "" {
			t.Fatalf("%s is active without a backend id", plan)
		}
		if plan == "vps-small" {
			vps = id
		}
	}
	var power struct {
		Action string `json:"action"`
	}
	p.must(t, 200, "POST", "/api/v1/accounts/"+p.account+"/services/"+vps+"/power", p.customer, map[string]any{"action": "restart"}, &power)
	if power.Action != "restart" {
		t.Fatalf("power answered action %q, want restart", power.Action)
	}

	fakeAddrs := fakesListening(t, logs.String())
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("scripts/demo.sh did not exit after SIGTERM")
	}
	for _, a := range append(fakeAddrs, addr) {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the demo stopped", a)
		}
	}
}

// freeAddr returns a loopback address with a port free at the time of the
// call (the core takes its address from the environment, not port 0, in
// the sandbox as a newcomer would run it).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// fakeURL is a fake's address in the script's "demo: fakes: …" line.
var fakeURL = regexp.MustCompile(`http://(127\.0\.0\.1:[0-9]+)`)

// fakesListening reads the three fakes' addresses from the script's
// output.
func fakesListening(t *testing.T, out string) []string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "demo: fakes:") {
			continue
		}
		var addrs []string
		for _, m := range fakeURL.FindAllStringSubmatch(line, -1) {
			addrs = append(addrs, m[1])
		}
		if len(addrs) == 3 {
			return addrs
		}
	}
	t.Fatal("the demo did not print its three fakes' addresses")
	return nil
}
