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

// TestErrorKindPolicy: every kind, with and without a retry hint, has the
// documented retryability and outcome, on this side of the wire and after
// it; a kind this SDK does not know is treated as Internal.
func TestErrorKindPolicy(t *testing.T) {
	t.Parallel()
	type policy struct {
		Retryable bool
		Outcome   Outcome // without a retry hint
		Hinted    Outcome // with one
	}
	want := map[ErrorKind]policy{
		InvalidInput:    {false, Refused, Refused},
		NotFound:        {false, Refused, Refused},
		NotSupported:    {false, Refused, Refused},
		Conflict:        {true, Refused, Refused},
		Unauthenticated: {true, Refused, Refused},
		Capacity:        {true, Deferred, Deferred},
		Unavailable:     {true, InDoubt, Deferred},
		Internal:        {true, InDoubt, InDoubt},
		ErrorKind(99):   {true, InDoubt, InDoubt},
	}
	kinds := append(ErrorKinds(), ErrorKind(99))
	if len(want) != len(kinds) {
		t.Fatalf("the table has %d kinds, the SDK %d: a kind was added without its policy", len(want), len(kinds))
	}
	for _, k := range kinds {
		w, ok := want[k]
		if !ok {
			t.Errorf("kind %d (%s) has no row", k, k)
			continue
		}
		for _, hint := range []time.Duration{0, 30 * time.Second} {
			e := &Error{Kind: k, Message: "x", RetryAfter: hint}
			wantOutcome := w.Outcome
			if hint > 0 {
				wantOutcome = w.Hinted
			}
			for name, err := range map[string]error{
				"local":         fmt.Errorf("calling: %w", e),
				"over the wire": FromStatus(ToStatus(e)),
			} {
				got := policy{Retryable: IsRetryable(err), Outcome: OutcomeOf(err)}
				wantGot := policy{Retryable: w.Retryable, Outcome: wantOutcome}
				if diff := cmp.Diff(wantGot, got); diff != "" {
					t.Errorf("%s, retry hint %s, %s (-want +got):\n%s", k, hint, name, diff)
				}
				if got.Outcome.MayHaveActed() != (wantOutcome == InDoubt) {
					t.Errorf("%s, retry hint %s: MayHaveActed %v for %s", k, hint, got.Outcome.MayHaveActed(), got.Outcome)
				}
			}
		}
	}
}

// TestOutcomeOfACutShortCall: a deadline or cancellation in the chain
// leaves the outcome in doubt even under a kind with a retry hint; a plain
// error is Internal (retryable, in doubt); nil is not retryable.
func TestOutcomeOfACutShortCall(t *testing.T) {
	t.Parallel()
	for name, err := range map[string]error{
		"host deadline": UnavailableError(time.Second, "killed").WithCause(context.DeadlineExceeded),
		"cancelled":     fmt.Errorf("calling: %w", context.Canceled),
		"wire deadline": FromStatus(status.Error(codes.DeadlineExceeded, "slow")),
		"plain":         errors.New("lost"),
	} {
		if got := OutcomeOf(err); got != InDoubt {
			t.Errorf("%s: OutcomeOf = %s, want in_doubt", name, got)
		}
		if !IsRetryable(err) {
			t.Errorf("%s: not retryable", name)
		}
	}
	if IsRetryable(nil) {
		t.Error("a nil error is retryable")
	}
}

// TestDiagnosticsFromAKindCallAreInvalidInput: a Diagnostics returned as the
// error of a kind call refused the request, so it crosses the wire as
// InvalidInput naming its first error's field, not as Internal.
func TestDiagnosticsFromAKindCallAreInvalidInput(t *testing.T) {
	t.Parallel()
	ds := append(FieldDiagnostic("plan_options.size", "must be %s", "small or large"),
		Diagnostic{Severity: SeverityWarning, Field: "x", Summary: "ignored"},
		Diagnostic{Severity: SeverityError, Field: "customer.email", Summary: "is required"})
	got := FromStatus(ToStatus(fmt.Errorf("validating: %w", ds)))
	want := &Error{Kind: InvalidInput, Field: "plan_options.size", Message: "must be small or large; customer.email: is required"}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Error{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
