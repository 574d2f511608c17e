package tests

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/support"
	"github.com/ezscale/platform/plugins/anthropic/fakeanthropic"
	pb "github.com/ezscale/platform/sdk/pluginv1"
	"github.com/ezscale/platform/tests/testbin"
)

// BenchmarkAssistantFirstToken measures the time to the first streamed
// token of an answer, per op (the timer stops at the first token; the rest
// of the answer is drained untimed):
//
//   - fake: a streamed Messages API request straight to the Anthropic fake
//     in this process, to its first content_block_delta event;
//   - plugin: StreamAnswer through the plugin host and the
//     ezscale-plugin-anthropic process to the same fake, to the first text
//     message (the plugin's share);
//   - core: support.Service.Ask (SQLite; the question stored, the rate limit
//     counted, the knowledge base searched) through the plugin host and the
//     ezscale-plugin-anthropic process to the same fake, to the first token
//     event the core emits.
//
// The ratio is what the core and the plugin add to the vendor's own time to
// first token (the fake answers at once, so it is all overhead).
func BenchmarkAssistantFirstToken(b *testing.B) {
	fake := fakeanthropic.New(fakeanthropic.Options{RequestsPerMinute: -1})
	srv := httptest.NewServer(fake)
	b.Cleanup(srv.Close)

	b.Run("fake", func(b *testing.B) {
		body := `{"model":"claude-sonnet-5-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"How do refunds work?"}]}`
		for b.Loop() {
			req, err := http.NewRequest("POST", srv.URL+"/v1/messages", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("x-api-key", fakeanthropic.DefaultAPIKey)
			req.Header.Set("anthropic-version", "2023-06-01")
			req.Header.Set("content-type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			sc := bufio.NewScanner(resp.Body)
			first := false
			for sc.Scan() {
				if !first && sc.Text() == "event: content_block_delta" {
					first = true
					b.StopTimer()
				}
			}
			_ = resp.Body.Close()
			if !first {
				b.Fatalf("no content_block_delta from the fake (status %d)", resp.StatusCode)
			}
			b.StartTimer()
		}
	})

	b.Run("plugin", func(b *testing.B) {
		b.StopTimer()
		host := anthropicHost(b, srv.URL)
		a, err := host.Assistant("anthropic")
		if err != nil {
			b.Fatal(err)
		}
		req := &pb.StreamAnswerRequest{Request: &pb.AnswerRequest{Question: "How do refunds work?", UserRef: "bench-user",
			Context:   map[string]string{"services": "no services", "balance": "credit balance 0.00 USD"},
			Documents: []*pb.KnowledgeDocument{{Id: "refunds", Title: "Refunds", Text: "A refund of an unused period is credited to your balance."}}}}
		b.StartTimer()
		for b.Loop() {
			first := false
			err := a.StreamAnswer(context.Background(), req, func(m *pb.StreamAnswerResponse) error {
				if m.GetText() != "" && !first {
					first = true
					b.StopTimer()
				}
				return nil
			})
			if err != nil || !first {
				b.Fatalf("StreamAnswer: %v (a token: %v)", err, first)
			}
			b.StartTimer()
		}
	})

	b.Run("core", func(b *testing.B) {
		b.StopTimer()
		db := databasetest.New(b, database.SQLite)
		host := anthropicHost(b, srv.URL)
		kb, err := support.LoadKnowledge(fstest.MapFS{
			"refunds.md": {Data: []byte("# Refunds\n\nA refund of an unused period is credited to your balance.")},
		}, support.KnowledgeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		svc := support.New(support.Deps{DB: db, Limiter: ratelimit.New(db), Plugins: host, Knowledge: kb},
			support.Options{Assistant: "anthropic", AskLimit: 1 << 30, DailyTokens: 1 << 40, PollInterval: -1})
		ctx := context.Background()
		b.StartTimer()
		for b.Loop() {
			b.StopTimer()
			c, err := svc.Start(ctx, "bench-account", "bench-user", support.StartInput{})
			if err != nil {
				b.Fatal(err)
			}
			first := false
			b.StartTimer()
			start := time.Now()
			_, err = svc.Ask(ctx, "bench-account", "bench-user", c.ID, support.AskInput{Question: "How do refunds work?"}, func(event string, _ any) error {
				if event == support.EventToken && !first {
					first = true
					b.StopTimer()
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			if !first {
				b.Fatalf("no token event within %s", time.Since(start))
			}
			b.StartTimer()
		}
	})
}

// anthropicHost starts ezscale-plugin-anthropic as a process behind a
// plugin host, configured for the fake at url.
func anthropicHost(b *testing.B, url string) *pluginhost.Host {
	b.Helper()
	bin, err := testbin.Plugin("anthropic")
	if err != nil {
		b.Fatal(err)
	}
	host := startPluginHost(b, pluginhost.Spec{Name: "anthropic", Path: bin,
		Config: map[string]any{"api_key": fakeanthropic.DefaultAPIKey, "base_url": url, "max_retries": int64(0)}})
	if info, err := host.Get("anthropic"); err != nil || info.State != pluginhost.StateRunning {
		b.Fatalf("plugin %+v, %v", info, err)
	}
	return host
}
