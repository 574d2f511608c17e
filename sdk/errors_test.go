package sdk

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ezscale/platform/sdk/pluginv1"
)

func TestErrorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, e := range []*Error{
		{Kind: InvalidInput, Message: "bad port", Field: "port"},
		{Kind: NotFound, Message: "no such server"},
		{Kind: Conflict, Message: "already suspended"},
		{Kind: Unavailable, Message: "rate limited", RetryAfter: 30 * time.Second},
		{Kind: Unauthenticated, Message: "token refused"},
		{Kind: NotSupported, Message: "no snapshots"},
		{Kind: Internal, Message: "boom"},
		{Kind: Capacity, Message: "no allocations satisfying the requirements", RetryAfter: 5 * time.Minute},
	} {
		t.Run(e.Kind.String(), func(t *testing.T) {
			t.Parallel()
			wrapped := fmt.Errorf("calling backend: %w", e)
			got := FromStatus(ToStatus(wrapped))
			want := &Error{Kind: e.Kind, Message: e.Message, Field: e.Field, RetryAfter: e.RetryAfter}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Error{})); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if KindOf(got) != e.Kind {
				t.Errorf("KindOf = %s, want %s", KindOf(got), e.Kind)
			}
		})
	}
}

// TestCapacityKind: the capacity kind is wire value 8 (the enum is
// append-only), retryable with its hint, and named "capacity".
func TestCapacityKind(t *testing.T) {
	t.Parallel()
	if got := pluginv1.ErrorKind_ERROR_KIND_CAPACITY; int32(got) != 8 || int32(Capacity) != 8 {
		t.Fatalf("ERROR_KIND_CAPACITY = %d, Capacity = %d; want 8", got, Capacity)
	}
	err := fmt.Errorf("creating the server: %w", CapacityError(time.Minute, "node %d is full", 3))
	got := FromStatus(ToStatus(err))
	if !IsKind(got, Capacity) || RetryAfterOf(got) != time.Minute || Capacity.String() != "capacity" {
		t.Errorf("capacity error after the wire: kind %s, retry after %s", KindOf(got), RetryAfterOf(got))
	}
	if st, _ := status.FromError(ToStatus(err)); st.Code() != codes.ResourceExhausted {
		t.Errorf("gRPC code %s, want ResourceExhausted", st.Code())
	}
}

func TestToStatusPlainErrorIsInternal(t *testing.T) {
	t.Parallel()
	got := FromStatus(ToStatus(errors.New("disk on fire")))
	if diff := cmp.Diff(&Error{Kind: Internal, Message: "disk on fire"}, got, cmpopts.IgnoreUnexported(Error{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFromStatusWithoutDetail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code codes.Code
		kind ErrorKind
	}{
		{codes.Unimplemented, NotSupported},
		{codes.Unavailable, Unavailable},
		{codes.NotFound, NotFound},
		{codes.InvalidArgument, InvalidInput},
		{codes.Unknown, Internal},
	} {
		if got := KindOf(FromStatus(status.Error(tc.code, "x"))); got != tc.kind {
			t.Errorf("code %s: kind %s, want %s", tc.code, got, tc.kind)
		}
	}
	err := FromStatus(status.Error(codes.DeadlineExceeded, "slow"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DeadlineExceeded status: errors.Is(context.DeadlineExceeded) is false for %v", err)
	}
}

func TestKindOfNil(t *testing.T) {
	t.Parallel()
	if KindOf(nil) != 0 || IsKind(nil, Internal) {
		t.Error("a nil error must have no kind")
	}
}
