//go:build unix

package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchServices is how many VPS one apply orders.
const benchServices = 50

// BenchmarkFiftyVPS measures, against the sandbox core:
//   - terraform-apply: `terraform apply` of 50 ezscale_vps (ordered and
//     waited for until active), with terraform's default parallelism (10);
//   - plain-http: the same 50 orders by a plain HTTP client with 10
//     workers, each polling its service every 100 ms until active: the
//     limit the provider is measured against (make bench prints the ratio);
//   - terraform-plan-no-changes: `terraform plan` of those 50 when nothing
//     changed (a refresh of each, 50 GETs).
//
// Cancelling the services afterwards is not timed.
func BenchmarkFiftyVPS(b *testing.B) {
	e := acc(b)
	cli := providerBinary(b)
	run := 0
	writeConfig := func(dir, label string) {
		b.Helper()
		src := fmt.Sprintf(`terraform {
  required_providers {
    ezscale = { source = "ezscale/ezscale" }
  }
}
resource "ezscale_vps" "bench" {
  count     = %d
  plan      = "vps-small"
  label     = "%s-${count.index}"
  cancel_at = "now"
}
`, benchServices, label)
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	tf := func(dir string, args ...string) {
		b.Helper()
		args = append(args, "-no-color", "-input=false")
		if out, err := terraformCmd(b, dir, cli, args...).CombinedOutput(); err != nil {
			b.Fatalf("terraform %s: %v\n%s", args[0], err, out)
		}
	}

	b.Run("terraform-apply", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			run++
			dir := b.TempDir()
			writeConfig(dir, fmt.Sprintf("bench-tf-%d", run))
			b.StartTimer()
			tf(dir, "apply", "-auto-approve")
			b.StopTimer()
			tf(dir, "destroy", "-auto-approve")
			b.StartTimer()
		}
	})

	b.Run("plain-http", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			run++
			ids := make([]string, benchServices)
			jobs := make(chan int)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var failure error
			for w := 0; w < 10; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := range jobs {
						var order struct {
							Service struct {
								ID string `json:"id"`
							} `json:"service"`
						}
						err := e.call("POST", "/api/v1/accounts/"+e.account+"/orders", e.token,
							map[string]any{"plan_id": "vps-small", "cycle": "monthly", "label": fmt.Sprintf("bench-http-%d-%d", run, n)}, 201, &order)
						for err == nil {
							var s serviceView
							if err = e.call("GET", "/api/v1/accounts/"+e.account+"/services/"+order.Service.ID, e.token, nil, 200, &s); err != nil || s.Status == "active" {
								break
							}
							if s.Status == "failed" {
								err = fmt.Errorf("service %s failed", s.ID)
								break
							}
							time.Sleep(100 * time.Millisecond)
						}
						mu.Lock()
						ids[n] = order.Service.ID
						if err != nil && failure == nil {
							failure = err
						}
						mu.Unlock()
					}
				}()
			}
			for n := 0; n < benchServices; n++ {
				jobs <- n
			}
			close(jobs)
			wg.Wait()
			b.StopTimer()
			if failure != nil {
				b.Fatal(failure)
			}
			for _, id := range ids {
				e.must(b, "POST", "/api/v1/accounts/"+e.account+"/services/"+id+"/cancel", e.token, map[string]any{"when": "now"}, 200, nil)
			}
			b.StartTimer()
		}
	})

	b.Run("terraform-plan-no-changes", func(b *testing.B) {
		b.StopTimer()
		run++
		dir := b.TempDir()
		writeConfig(dir, fmt.Sprintf("bench-plan-%d", run))
		tf(dir, "apply", "-auto-approve")
		b.StartTimer()
		for i := 0; i < b.N; i++ {
			out, err := terraformCmd(b, dir, cli, "plan", "-no-color", "-input=false", "-detailed-exitcode").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "No changes.") {
				b.Fatalf("terraform plan: %v\n%s", err, out)
			}
		}
		b.StopTimer()
		tf(dir, "destroy", "-auto-approve")
	})
}
