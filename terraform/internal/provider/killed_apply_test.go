//go:build unix

package provider

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// providerBinary builds terraform-provider-ezscale once per test binary
// and returns a CLI configuration file whose dev_overrides point terraform
// at it: the documented dev loop (terraform/README.md).
func providerBinary(t testing.TB) (cliConfig string) {
	t.Helper()
	providerBinOnce.Do(func() {
		if providerBinDir, providerBinErr = os.MkdirTemp("", "ezscale-tfprovider-"); providerBinErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(providerBinDir, "terraform-provider-ezscale"), ".")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			providerBinErr = fmt.Errorf("go build terraform-provider-ezscale: %w\n%s", err, out)
		}
	})
	if providerBinErr != nil {
		t.Fatal(providerBinErr)
	}
	cfg := filepath.Join(t.TempDir(), "terraformrc")
	src := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"registry.terraform.io/ezscale/ezscale\" = %q\n  }\n  direct {}\n}\n", providerBinDir)
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// terraformCmd is `terraform args…` in dir with the dev override, in its
// own process group (so killing it kills the provider too).
func terraformCmd(t testing.TB, dir, cliConfig string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// TestAccRetriedApplyAfterKilledTerraform kills `terraform apply` (and its
// provider) after the order was made but before the state was written,
// then applies again: the retried order carries the same Idempotency-Key,
// so the API answers with the first order and nothing is ordered twice.
//
// Not parallel: provisioning is held back by a failure injected into the
// fake every test shares.
func TestAccRetriedApplyAfterKilledTerraform(t *testing.T) {
	e := acc(t)
	cli := providerBinary(t)
	dir := t.TempDir()
	const label = "tf-killed-apply"
	main := `terraform {
  required_providers {
    ezscale = { source = "ezscale/ezscale" }
  }
}
resource "ezscale_vps" "k" {
  plan      = "vps-small"
  label     = "` + label + `"
  cancel_at = "now"
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	labelled := func() []serviceView {
		var out []serviceView
		for _, s := range e.services(t) {
			if s.Label == label {
				out = append(out, s)
			}
		}
		return out
	}

	// Provisioning fails (and is retried) until the fault is reset, so the
	// first apply is still waiting when it is killed.
	e.fault(t, "/__fake/failures", map[string]any{"route": "POST /api/v1/servers", "status": 503, "times": 100000})
	t.Cleanup(func() { e.fault(t, "/__fake/reset", nil) })
	first := terraformCmd(t, dir, cli, "apply", "-auto-approve", "-input=false", "-no-color")
	var out1 strings.Builder
	first.Stdout, first.Stderr = &out1, &out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first apply's order", func() bool { return len(labelled()) == 1 })
	if err := syscall.Kill(-first.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if st, err := os.ReadFile(filepath.Join(dir, "terraform.tfstate")); err == nil && strings.Contains(string(st), label) {
		t.Fatalf("the killed apply wrote the service into the state; the test proves nothing:\n%s", st)
	}
	e.fault(t, "/__fake/reset", nil)

	second := terraformCmd(t, dir, cli, "apply", "-auto-approve", "-input=false", "-no-color")
	out2, err := second.CombinedOutput()
	if err != nil {
		t.Fatalf("the retried apply: %v\n%s\nfirst apply:\n%s", err, out2, out1.String())
	}
	if !strings.Contains(string(out2), "Order replayed") {
		t.Errorf("the retried apply does not say it replayed the first order:\n%s", out2)
	}
	services := labelled()
	if len(services) != 1 {
		t.Fatalf("after a killed and a retried apply the account has %d services labelled %s, want 1: %+v", len(services), label, services)
	}
	var state struct {
		Resources []struct {
			Instances []struct {
				Attributes struct {
					ID     string `json:"id"`
					Status string `json:"status"`
				} `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	st, err := os.ReadFile(filepath.Join(dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(st, &state); err != nil {
		t.Fatal(err)
	}
	if len(state.Resources) != 1 || state.Resources[0].Instances[0].Attributes.ID != services[0].ID ||
		state.Resources[0].Instances[0].Attributes.Status != "active" {
		t.Fatalf("state %s, want the one service %s active", st, services[0].ID)
	}

	destroy := terraformCmd(t, dir, cli, "destroy", "-auto-approve", "-input=false", "-no-color")
	if out, err := destroy.CombinedOutput(); err != nil {
		t.Fatalf("terraform destroy: %v\n%s", err, out)
	}
	if s := e.service(t, services[0].ID); s.Status != "cancelled" && s.Status != "terminated" {
		t.Errorf("after destroy the service is %s", s.Status)
	}
}
