package main

import (
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/ezscale/platform/plugins/kasm/fakekasm"
	"github.com/ezscale/platform/plugins/kasm/kasmapi"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// The benchmarks compare a call through the plugin (gRPC to the SDK server,
// then the plugin's HTTP calls to the fake) with the same read made directly
// over HTTP, in one run.

func BenchmarkCreateViaPlugin(b *testing.B) {
	tb := setup(b, fakekasm.Options{})
	i := 0
	for b.Loop() {
		i++
		id := "bench-" + strconv.Itoa(i)
		if _, err := tb.p.Create(b.Context(), &pb.CreateRequest{Service: service(id), IdempotencyKey: id}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetInfoViaPlugin(b *testing.B) {
	tb := setup(b, fakekasm.Options{})
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

func BenchmarkGetUserDirectHTTP(b *testing.B) {
	srv := httptest.NewServer(fakekasm.New(fakekasm.Options{}))
	b.Cleanup(srv.Close)
	cl, err := kasmapi.New(kasmapi.Config{BaseURL: srv.URL, APIKey: fakekasm.DefaultAPIKey, APIKeySecret: fakekasm.DefaultAPISecret})
	if err != nil {
		b.Fatal(err)
	}
	u, err := cl.CreateUser(b.Context(), kasmapi.NewUser{Username: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := cl.User(b.Context(), u.UserID); err != nil {
			b.Fatal(err)
		}
	}
}
