package main

import (
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/ezscale/platform/plugins/virtfusion/fakevirtfusion"
	vf "github.com/ezscale/platform/plugins/virtfusion/virtfusionapi"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// The benchmarks compare a call through the plugin (gRPC to the SDK server,
// then the plugin's HTTP calls to the fake) with the same read made directly
// over HTTP, in one run, so the plugin's own overhead per call shows.

func BenchmarkCreateViaPlugin(b *testing.B) {
	tb := setup(b)
	i := 0
	for b.Loop() {
		i++
		id := "bench-" + strconv.Itoa(i)
		svc := service(id)
		// One customer per service, as in a real order stream.
		svc.Customer.AccountId = strconv.Itoa(1000 + i)
		svc.Customer.Email = id + "@example.com"
		if _, err := tb.p.Create(b.Context(), &pb.CreateRequest{Service: svc, IdempotencyKey: id}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetInfoViaPlugin(b *testing.B) {
	tb := setup(b)
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
	fake := fakevirtfusion.New(fakevirtfusion.Options{Token: "tok"})
	srv := httptest.NewServer(fake)
	b.Cleanup(srv.Close)
	cl, err := vf.New(vf.Config{BaseURL: srv.URL + fakevirtfusion.BasePath, Token: "tok"})
	if err != nil {
		b.Fatal(err)
	}
	u, err := cl.CreateUser(b.Context(), vf.CreateUserRequest{Name: "Bench", Email: "bench@example.com", ExtRelationID: 1})
	if err != nil {
		b.Fatal(err)
	}
	s, err := cl.CreateServer(b.Context(), vf.CreateServerRequest{PackageID: 1, UserID: u.ID, HypervisorID: 1}, false)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := cl.Server(b.Context(), s.ID, false); err != nil {
			b.Fatal(err)
		}
	}
}
