package main

import (
	"context"
	"strconv"
	"testing"

	"github.com/ezscale/platform/plugins/discord/discordapi"
	"github.com/ezscale/platform/plugins/discord/fakediscord"
)

// The three benchmarks post the same alert to the fake Discord over real
// loopback HTTP. Their difference is the cost of the layers in between:
//
//	DeliverDirect     discordapi client only (HTTP + JSON + rate-limit bookkeeping)
//	DeliverInProcess  + the plugin (validation, rendering, idempotency cache)
//	DeliverPlugin     + the SDK's gRPC server and client, as the core calls it
//
// The fake's rate limits are lifted so no benchmark sleeps.

func benchEnv(b *testing.B) *testBundle {
	b.Helper()
	return setupFake(b, fakediscord.Options{BucketLimit: 1 << 30, GlobalLimit: 1 << 30}, nil)
}

func BenchmarkDeliverDirect(b *testing.B) {
	env := benchEnv(b)
	client, err := discordapi.New(discordapi.Config{BaseURL: fakediscord.BaseURL(env.serverURL)})
	if err != nil {
		b.Fatal(err)
	}
	url := env.webhook.URL(env.serverURL)
	msg := discordapi.WebhookMessage{
		Username: "EZSCALE",
		Embeds: []discordapi.Embed{{Title: "Node fra-1 is down", Description: "No heartbeat for 5 minutes.",
			Color: categoryColors["system"]}},
		AllowedMentions: discordapi.NoMentions(),
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := client.ExecuteWebhook(ctx, url, msg, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeliverInProcess(b *testing.B) {
	env := benchEnv(b)
	p := New()
	cfg, diags := p.Describe().Schema.Apply(map[string]any{
		"webhook_url": env.webhook.URL(env.serverURL), "api_base_url": fakediscord.BaseURL(env.serverURL),
	})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	ctx := context.Background()
	if err := p.Configure(ctx, cfg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		if _, err := p.Deliver(ctx, alert("bench-"+strconv.Itoa(i))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeliverPlugin(b *testing.B) {
	env := benchEnv(b)
	n := env.h.Notifier()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		req := alert("bench-" + strconv.Itoa(i))
		if _, err := n.Deliver(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
