package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ezscale/platform/plugins/anthropic/fakeanthropic"
	"github.com/ezscale/platform/plugins/internal/processtest"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// TestStreamsThroughARealProcess: the answer streams in pieces over
// go-plugin's gRPC connection (AutoMTLS) from a real plugin process, as
// the core will call it.
func TestStreamsThroughARealProcess(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(fakeanthropic.New(fakeanthropic.Options{}))
	t.Cleanup(srv.Close)
	cc := processtest.Start(t)
	diags, err := sdk.NewPluginClient(cc).Configure(t.Context(), map[string]any{"api_key": fakeanthropic.DefaultAPIKey,
		"base_url": srv.URL, "max_retries": 0})
	if err != nil || diags.HasErrors() {
		t.Fatalf("Configure: %v, %v", diags, err)
	}
	var pieces []string
	var done *pb.AnswerResponse
	err = sdk.NewAssistantClient(cc).StreamAnswer(t.Context(), &pb.StreamAnswerRequest{Request: &pb.AnswerRequest{Question: "Is my VPS up?"}},
		func(m *pb.StreamAnswerResponse) error {
			if d := m.GetDone(); d != nil {
				done = d
			} else {
				pieces = append(pieces, m.GetText())
			}
			return nil
		})
	if err != nil || done == nil {
		t.Fatalf("StreamAnswer: %v, %v", done, err)
	}
	if len(pieces) < 2 || strings.Join(pieces, "") != done.GetAnswer() {
		t.Errorf("pieces %q, answer %q: want several pieces adding up to the answer", pieces, done.GetAnswer())
	}
}
