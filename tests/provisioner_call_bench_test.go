package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/plugins/virtfusion/fakevirtfusion"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// BenchmarkProvisionerCall is one cheap read of a VirtFusion server, made
// the two ways the plugin's overhead is the difference of:
//
//   - plugin: GetInfo through the plugin host the core uses, over gRPC to
//     the real plugin process, which makes GET /servers/{id} at the fake;
//   - direct-http: the same GET from this process with a plain
//     http.Client, reading and decoding the body as any caller must.
//
// plugin minus direct-http is the plugin's own cost per call (the gRPC
// round trip, the host's bookkeeping, the plugin's client and mapping);
// make bench prints their ratio. interleaved alternates the two in one
// loop, so both see the same machine state, and reports each and the
// difference per call.
func BenchmarkProvisionerCall(b *testing.B) {
	env := provisionerCallSetup(b)
	b.Run("plugin", func(b *testing.B) {
		for b.Loop() {
			env.viaPlugin(b)
		}
	})
	b.Run("direct-http", func(b *testing.B) {
		for b.Loop() {
			env.direct(b)
		}
	})
	b.Run("interleaved", func(b *testing.B) {
		var viaPlugin, direct time.Duration
		for b.Loop() {
			t0 := time.Now()
			env.viaPlugin(b)
			t1 := time.Now()
			env.direct(b)
			direct += time.Since(t1)
			viaPlugin += t1.Sub(t0)
		}
		n := float64(b.N)
		b.ReportMetric(float64(viaPlugin.Nanoseconds())/n, "plugin-ns/call")
		b.ReportMetric(float64(direct.Nanoseconds())/n, "direct-ns/call")
		b.ReportMetric(float64((viaPlugin-direct).Nanoseconds())/n, "overhead-ns/call")
	})
}

// provisionerCallEnv is one server at the fake, reachable both ways.
type provisionerCallEnv struct {
	prov sdk.ProvisionerClient
	svc  *pb.ServiceRef
	id   int64  // the server's id at the fake
	url  string // the server's GET URL at the fake
	http *http.Client
}

func provisionerCallSetup(b *testing.B) *provisionerCallEnv {
	b.Helper()
	fake := fakevirtfusion.New(fakevirtfusion.Options{})
	srv := httptest.NewServer(fake)
	b.Cleanup(srv.Close)
	api := srv.URL + fakevirtfusion.BasePath
	host := startPluginHost(b, pluginhost.Spec{
		Name: "virtfusion", Path: provisionerBins(b)["virtfusion"],
		Config: map[string]any{"api_url": api, "api_token": benchVFToken},
	})
	prov, err := host.Provisioner("virtfusion")
	if err != nil {
		b.Fatal(err)
	}
	// Options as the demo catalog's vps-small gives them.
	svc := &pb.ServiceRef{ServiceId: "bench-call", PlanOptions: map[string]string{"package_id": "2", "hypervisor_group_id": "1"},
		Customer: &pb.Customer{AccountId: "bench-account", Email: "bench@example.net", Name: "Bench"}}
	created, err := prov.Create(context.Background(), &pb.CreateRequest{Service: svc, IdempotencyKey: svc.ServiceId})
	if err != nil {
		b.Fatal(err)
	}
	svc.ExternalId = created.GetStatus().GetExternalId()
	id, err := strconv.ParseInt(svc.ExternalId, 10, 64)
	if err != nil {
		b.Fatalf("VirtFusion external id %q: %v", svc.ExternalId, err)
	}
	return &provisionerCallEnv{
		prov: prov, svc: svc, id: id, url: api + "/servers/" + svc.ExternalId,
		// Keep-alive as the plugin's own client does, so both sides pay
		// for a request, not for a connection.
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 30 * time.Second},
	}
}

// benchVFToken is the fake's default token.
const benchVFToken = "vf-test-token"

func (e *provisionerCallEnv) viaPlugin(b *testing.B) {
	resp, err := e.prov.GetInfo(context.Background(), &pb.GetInfoRequest{Service: e.svc})
	if err != nil {
		b.Fatal(err)
	}
	if resp.GetStatus().GetExternalId() != e.svc.ExternalId {
		b.Fatalf("GetInfo answered %v", resp.GetStatus())
	}
}

func (e *provisionerCallEnv) direct(b *testing.B) {
	if err := e.get(context.Background()); err != nil {
		b.Fatal(err)
	}
}

func (e *provisionerCallEnv) get(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+benchVFToken)
	req.Header.Set("Accept", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", e.url, resp.StatusCode, raw)
	}
	var out struct {
		Data struct {
			ID    int64  `json:"id"`
			State string `json:"state"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("GET %s: %w", e.url, err)
	}
	if out.Data.ID != e.id {
		return fmt.Errorf("GET %s: server %d", e.url, out.Data.ID)
	}
	return nil
}

// startPluginHost starts the plugins of specs as processes behind a plugin
// host with the production settings and a data directory of the test's
// (plugins record their calls' outcomes there, and refuse to act without
// one), stopped when the test ends.
func startPluginHost(b testing.TB, specs ...pluginhost.Spec) *pluginhost.Host {
	b.Helper()
	opts := pluginhost.DefaultOptions()
	opts.DataDir = b.TempDir()
	host, err := pluginhost.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(host.Stop)
	if err := host.Start(context.Background(), specs); err != nil {
		b.Fatal(err)
	}
	return host
}
