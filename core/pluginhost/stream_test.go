package pluginhost_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/pluginhost/pluginhosttest"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// wordsAssistant streams the question's words, then the whole question as
// the finished answer.
type wordsAssistant struct{}

func (wordsAssistant) Describe() sdk.Description {
	return sdk.Description{Name: "words", Version: "1.0.0", Schema: sdk.NewSchema()}
}
func (wordsAssistant) Configure(context.Context, sdk.Config) error { return nil }
func (wordsAssistant) Health(context.Context) error                { return nil }
func (wordsAssistant) Answer(context.Context, *pb.AnswerRequest) (*pb.AnswerResponse, error) {
	return nil, sdk.Errorf(sdk.NotSupported, "streams only")
}
func (wordsAssistant) StreamAnswer(_ context.Context, r *pb.StreamAnswerRequest, send func(*pb.StreamAnswerResponse) error) error {
	for _, w := range []string{"a ", "b"} {
		if err := send(&pb.StreamAnswerResponse{Event: &pb.StreamAnswerResponse_Text{Text: w}}); err != nil {
			return err
		}
	}
	return send(&pb.StreamAnswerResponse{Event: &pb.StreamAnswerResponse_Done{Done: &pb.AnswerResponse{Answer: r.GetRequest().GetQuestion()}}})
}

// TestStreamingCallThroughHost: a server-streaming call (an assistant's
// streamed answer) passes through the host's connection piece by piece,
// finished answer last.
func TestStreamingCallThroughHost(t *testing.T) {
	t.Parallel()
	h := pluginhosttest.Start(t, pluginhost.Options{}, []pluginhosttest.Plugin{{Name: "words", Impl: wordsAssistant{}}})
	a, err := h.Assistant("words")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got []string
	err = a.StreamAnswer(ctx, &pb.StreamAnswerRequest{Request: &pb.AnswerRequest{Question: "a b"}}, func(m *pb.StreamAnswerResponse) error {
		if d := m.GetDone(); d != nil {
			got = append(got, "done: "+d.GetAnswer())
		} else {
			got = append(got, m.GetText())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("StreamAnswer through the host: %v", err)
	}
	if diff := cmp.Diff([]string{"a ", "b", "done: a b"}, got); diff != "" {
		t.Errorf("stream (-want +got):\n%s", diff)
	}
}
