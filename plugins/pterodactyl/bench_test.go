package main

import (
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// The benchmarks compare a call through the plugin (gRPC to the SDK server,
// then the plugin's HTTP calls to the fake) with the same read made directly
// over HTTP, in one run. Rate limits are off: they would measure the fake.

func BenchmarkCreateViaPlugin(b *testing.B) {
	tb := setup(b, fakepterodactyl.Options{ApplicationRateLimit: -1, ClientRateLimit: -1})
	i := 0
	for b.Loop() {
		i++
		id := "bench-" + strconv.Itoa(i)
		svc := service(id)
		svc.Customer.AccountId, svc.Customer.Email = strconv.Itoa(1000+i), id+"@example.com"
		if _, err := tb.p.Create(b.Context(), &pb.CreateRequest{Service: svc, IdempotencyKey: id}); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			// Free the allocations so the run never runs out of ports.
			b.StopTimer()
			for j := i - 9; j <= i; j++ {
				s := service("bench-" + strconv.Itoa(j))
				if _, err := tb.p.Terminate(b.Context(), &pb.TerminateRequest{Service: s, IdempotencyKey: "t" + strconv.Itoa(j)}); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		}
	}
}

func BenchmarkGetInfoViaPlugin(b *testing.B) {
	tb := setup(b, fakepterodactyl.Options{ApplicationRateLimit: -1, ClientRateLimit: -1})
	r, err := tb.p.Create(b.Context(), &pb.CreateRequest{Service: service("bench"), IdempotencyKey: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	svc := service("bench")
	svc.ExternalId = r.GetStatus().GetExternalId()
	for b.Loop() {
		if _, err := tb.p.GetInfo(b.Context(), &pb.GetInfoRequest{Service: svc}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetServerDirectHTTP(b *testing.B) {
	srv := httptest.NewServer(fakepterodactyl.New(fakepterodactyl.Options{ApplicationRateLimit: -1, ClientRateLimit: -1}))
	b.Cleanup(srv.Close)
	cl, err := pt.New(pt.Config{BaseURL: srv.URL, ApplicationKey: fakepterodactyl.DefaultApplicationKey})
	if err != nil {
		b.Fatal(err)
	}
	databases, backups := int64(0), int64(0)
	s, err := cl.CreateServer(b.Context(), pt.CreateServerRequest{Name: "bench", User: 1, Egg: 1, DockerImage: "img", Startup: "run",
		Environment: map[string]string{"SERVER_JARFILE": "server.jar", "VANILLA_VERSION": "latest"},
		Limits:      pt.Limits{Memory: 1024, Disk: 1024, IO: 500, CPU: 100}, FeatureLimits: pt.FeatureLimits{Databases: &databases, Backups: &backups},
		Allocation: &pt.AllocationRequest{Default: 1}})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := cl.Server(b.Context(), s.ID, "allocations"); err != nil {
			b.Fatal(err)
		}
	}
}
