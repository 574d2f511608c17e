package conformance

import (
	"strings"
	"testing"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// AssistantFixture is what the streaming assistant suite needs: requests
// the plugin's backend (a fake) answers and escalates.
type AssistantFixture struct {
	// Question is answered with text; give it documents so that citations
	// are checked.
	Question *pb.AnswerRequest
	// Escalating makes the backend ask for a human (e.g. the customer asks
	// for one). Nil skips that check.
	Escalating *pb.AnswerRequest
}

// AssistantStream runs the streaming assistant suite:
//
//   - StreamAnswer sends text pieces and then exactly one finished answer,
//     last; the pieces add up to the answer (up to surrounding space);
//   - the finished answer reports token usage, and cites only documents
//     the request carried, each once;
//   - Answer gives an answer or an escalation with a reason;
//   - the escalating request ends with escalate and a reason;
//   - an empty question is InvalidInput.
func AssistantStream(t *testing.T, h *plugintest.Harness, f AssistantFixture) {
	t.Helper()
	on(t, "assistant").requireKind(h, sdk.KindAssistant)
	Plugin(t, h)
	on(t, "assistant").run("StreamAnswer", func(t st) {
		t.Helper()
		var pieces []string
		var done *pb.AnswerResponse
		n, doneAt := 0, -1
		err := h.Assistant().StreamAnswer(ctx(t), &pb.StreamAnswerRequest{Request: f.Question}, func(m *pb.StreamAnswerResponse) error {
			if d := m.GetDone(); d != nil {
				if done != nil {
					t.Errorf("StreamAnswer: a second finished answer")
				}
				done, doneAt = d, n
			} else {
				pieces = append(pieces, m.GetText())
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatalf("StreamAnswer: %v", err)
		}
		if done == nil || doneAt != n-1 {
			t.Fatalf("StreamAnswer: the finished answer must be the last message (at %d of %d)", doneAt, n)
		}
		if len(pieces) == 0 && !done.GetEscalate() {
			t.Errorf("StreamAnswer: no text was streamed")
		}
		if got := strings.TrimSpace(strings.Join(pieces, "")); got != strings.TrimSpace(done.GetAnswer()) {
			t.Errorf("StreamAnswer: pieces add up to %q, the finished answer is %q", got, done.GetAnswer())
		}
		if u := done.GetUsage(); u.GetInputTokens() <= 0 || u.GetOutputTokens() <= 0 {
			t.Errorf("StreamAnswer: usage %v, want input and output tokens", u)
		}
		known := map[string]bool{}
		for _, d := range f.Question.GetDocuments() {
			known[d.GetId()] = true
		}
		seen := map[string]bool{}
		for _, id := range done.GetCitedDocumentIds() {
			if !known[id] || seen[id] {
				t.Errorf("StreamAnswer: cited %q, which the request did not carry or was cited twice (%v)", id, done.GetCitedDocumentIds())
			}
			seen[id] = true
		}
	})
	on(t, "assistant").run("Answer", func(t st) {
		t.Helper()
		a, err := h.Assistant().Answer(ctx(t), f.Question)
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
		if a.GetEscalate() && a.GetReason() == "" {
			t.Error("Answer: escalate without a reason")
		}
		if !a.GetEscalate() && a.GetAnswer() == "" {
			t.Error("Answer: neither an answer nor an escalation")
		}
	})
	if f.Escalating != nil {
		on(t, "assistant").run("Escalation", func(t st) {
			t.Helper()
			var done *pb.AnswerResponse
			err := h.Assistant().StreamAnswer(ctx(t), &pb.StreamAnswerRequest{Request: f.Escalating}, func(m *pb.StreamAnswerResponse) error {
				if d := m.GetDone(); d != nil {
					done = d
				}
				return nil
			})
			if err != nil {
				t.Fatalf("StreamAnswer: %v", err)
			}
			if !done.GetEscalate() || done.GetReason() == "" {
				t.Errorf("StreamAnswer of the escalating request: %v, want escalate with a reason", done)
			}
		})
	}
	on(t, "assistant").run("EmptyQuestion", func(t st) {
		t.Helper()
		err := h.Assistant().StreamAnswer(ctx(t), &pb.StreamAnswerRequest{Request: &pb.AnswerRequest{}}, func(*pb.StreamAnswerResponse) error { return nil })
		t.wantKind("StreamAnswer without a question", err, sdk.InvalidInput)
	})
}
