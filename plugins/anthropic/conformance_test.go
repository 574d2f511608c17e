package main

import (
	"testing"

	"github.com/ezscale/platform/sdk/conformance"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// TestConformance runs the SDK's assistant suites against the plugin and
// the fake Messages API.
func TestConformance(t *testing.T) {
	t.Parallel()
	_, h := setup(t, nil)
	q := &pb.AnswerRequest{Question: "How do I reboot my VPS?", Documents: docs}
	conformance.Assistant(t, h, q)
	conformance.AssistantStream(t, h, conformance.AssistantFixture{
		Question:   q,
		Escalating: &pb.AnswerRequest{Question: "I want to talk to a human."},
	})
}
