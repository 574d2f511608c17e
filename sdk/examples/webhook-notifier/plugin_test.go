package main

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	received := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		received[r.Header.Get("Idempotency-Key")] = true
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)

	h := plugintest.New(t, &Plugin{}, plugintest.WithConfig(map[string]any{"url": srv.URL, "token": "s3cret"}))
	conformance.Notifier(t, h, conformance.NotifierFixture{
		Message: &pb.DeliverRequest{Channel: "webhook", Recipient: "ops", Subject: "hello", TextBody: "hi"},
		Delivered: func(t *testing.T, req *pb.DeliverRequest, _ *pb.DeliverResponse) {
			mu.Lock()
			defer mu.Unlock()
			if !received[req.GetIdempotencyKey()] {
				t.Errorf("the webhook did not receive %s", req.GetIdempotencyKey())
			}
		},
	})
}
