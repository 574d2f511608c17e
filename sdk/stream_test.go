package sdk_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// scriptedAssistant streams the pieces it is given, then either finishes
// or fails with failWith.
type scriptedAssistant struct {
	pieces   []string
	failWith error
	panics   bool
}

func (*scriptedAssistant) Describe() sdk.Description {
	return sdk.Description{Name: "scripted", Version: "1.0.0", Schema: sdk.NewSchema()}
}
func (*scriptedAssistant) Configure(context.Context, sdk.Config) error { return nil }
func (*scriptedAssistant) Health(context.Context) error                { return nil }
func (a *scriptedAssistant) Answer(context.Context, *pb.AnswerRequest) (*pb.AnswerResponse, error) {
	return &pb.AnswerResponse{Answer: "whole"}, nil
}
func (a *scriptedAssistant) StreamAnswer(ctx context.Context, r *pb.StreamAnswerRequest, send func(*pb.StreamAnswerResponse) error) error {
	if a.panics {
		panic("boom")
	}
	for _, p := range a.pieces {
		if err := send(&pb.StreamAnswerResponse{Event: &pb.StreamAnswerResponse_Text{Text: p}}); err != nil {
			return err
		}
	}
	if a.failWith != nil {
		return a.failWith
	}
	return send(&pb.StreamAnswerResponse{Event: &pb.StreamAnswerResponse_Done{Done: &pb.AnswerResponse{Answer: r.GetRequest().GetQuestion()}}})
}

func collect(t *testing.T, a sdk.Assistant) ([]*pb.StreamAnswerResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []*pb.StreamAnswerResponse
	err := a.StreamAnswer(ctx, &pb.StreamAnswerRequest{Request: &pb.AnswerRequest{Question: "q"}}, func(m *pb.StreamAnswerResponse) error {
		got = append(got, m)
		return nil
	})
	return got, err
}

// TestStreamAnswerDeliversPiecesThenDone: the SDK's client hands the
// caller each streamed piece in order and the finished answer last.
func TestStreamAnswerDeliversPiecesThenDone(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, &scriptedAssistant{pieces: []string{"Hel", "lo"}})
	got, err := collect(t, h.Assistant())
	if err != nil {
		t.Fatalf("StreamAnswer: %v", err)
	}
	want := []*pb.StreamAnswerResponse{
		{Event: &pb.StreamAnswerResponse_Text{Text: "Hel"}},
		{Event: &pb.StreamAnswerResponse_Text{Text: "lo"}},
		{Event: &pb.StreamAnswerResponse_Done{Done: &pb.AnswerResponse{Answer: "q"}}},
	}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("stream (-want +got):\n%s", d)
	}
}

// TestStreamAnswerErrorKeepsItsKind: an error after some text reaches the
// caller as the same SDK error kind (with RetryAfter), not as a finished
// answer.
func TestStreamAnswerErrorKeepsItsKind(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, &scriptedAssistant{pieces: []string{"Hel"}, failWith: sdk.UnavailableError(3*time.Second, "overloaded")})
	got, err := collect(t, h.Assistant())
	if sdk.KindOf(err) != sdk.Unavailable || sdk.RetryAfterOf(err) != 3*time.Second {
		t.Fatalf("StreamAnswer: %v (retry after %v), want unavailable after 3s", err, sdk.RetryAfterOf(err))
	}
	if len(got) != 1 || got[0].GetDone() != nil {
		t.Errorf("messages before the error: %v, want the one piece and no finished answer", got)
	}
}

// TestStreamAnswerRefusedBeforeConfigure: the stream interceptor refuses
// kind calls before Configure, as the unary one does.
func TestStreamAnswerRefusedBeforeConfigure(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, &scriptedAssistant{}, plugintest.WithoutConfigure())
	if _, err := collect(t, h.Assistant()); sdk.KindOf(err) != sdk.Unavailable {
		t.Errorf("StreamAnswer before Configure: %v, want unavailable", err)
	}
}

// TestStreamAnswerPanicIsInternal: a panicking stream handler is an
// Internal error for the caller and the plugin keeps serving.
func TestStreamAnswerPanicIsInternal(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, &scriptedAssistant{panics: true})
	if _, err := collect(t, h.Assistant()); sdk.KindOf(err) != sdk.Internal {
		t.Errorf("StreamAnswer panicking: %v, want internal", err)
	}
	if _, err := h.Assistant().Answer(context.Background(), &pb.AnswerRequest{}); err != nil {
		t.Errorf("Answer after the panic: %v", err)
	}
}
