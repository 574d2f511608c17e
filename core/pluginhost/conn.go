package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// retryableReads are calls that change nothing, so the host may repeat one
// once when the plugin died under it and came back. Every other call (all
// lifecycle calls, anything carrying an idempotency key, anything that
// costs money) is never retried by the host: its caller decides.
var retryableReads = map[string]bool{
	pb.PluginService_Describe_FullMethodName:                   true,
	pb.PluginService_Health_FullMethodName:                     true,
	pb.ProvisionerService_Validate_FullMethodName:              true,
	pb.ProvisionerService_TestConnection_FullMethodName:        true,
	pb.ProvisionerService_GetInfo_FullMethodName:               true,
	pb.ProvisionerService_HealthCheck_FullMethodName:           true,
	pb.ProvisionerService_ListAccounts_FullMethodName:          true,
	pb.ProvisionerService_Usage_FullMethodName:                 true,
	pb.ProvisionerService_ListBackups_FullMethodName:           true,
	pb.ProvisionerService_ListActions_FullMethodName:           true,
	pb.ProvisionerService_Capacity_FullMethodName:              true,
	pb.PaymentGatewayService_ListPaymentMethods_FullMethodName: true,
	pb.PaymentGatewayService_ParseWebhook_FullMethodName:       true,
	pb.MonitorService_GetServerStats_FullMethodName:            true,
	pb.PricingSourceService_ListPlans_FullMethodName:           true,
}

// conn is the grpc.ClientConnInterface behind the clients the host hands
// out. It outlives plugin processes: each call goes to whichever process is
// running now, under the host's deadline, and is counted in the metrics.
type conn struct{ m *managed }

func (c conn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	start := time.Now()
	err := c.m.invoke(ctx, method, args, reply, opts)
	var kindErr error
	if err != nil {
		kindErr = sdk.FromStatus(err)
	}
	c.m.h.metrics.observe(c.m.spec.Name, shortMethod(method), time.Since(start), kindErr)
	return err
}

// NewStream opens a server-streaming call (an assistant's StreamAnswer) on
// the process running now, bounded by Options.StreamTimeout. A stream is
// never retried by the host; it is counted in the metrics when it ends.
func (c conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	start := time.Now()
	inst, err := c.m.current()
	if err != nil {
		c.m.h.metrics.observe(c.m.spec.Name, shortMethod(method), time.Since(start), sdk.FromStatus(err))
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, c.m.h.opts.StreamTimeout)
	cs, err := inst.cc.NewStream(sctx, desc, method, opts...)
	if err != nil {
		cancel()
		c.m.h.metrics.observe(c.m.spec.Name, shortMethod(method), time.Since(start), sdk.FromStatus(err))
		return nil, err
	}
	return &stream{ClientStream: cs, end: func(err error) {
		cancel()
		var kindErr error
		if err != nil {
			kindErr = sdk.FromStatus(err)
		}
		c.m.h.metrics.observe(c.m.spec.Name, shortMethod(method), time.Since(start), kindErr)
	}}, nil
}

// stream ends its call (context and metrics) once, when a receive fails or
// the plugin finished it (io.EOF).
type stream struct {
	grpc.ClientStream
	once sync.Once
	end  func(error)
}

func (s *stream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.once.Do(func() {
			if errors.Is(err, io.EOF) {
				s.end(nil)
				return
			}
			s.end(err)
		})
	}
	return err
}

// shortMethod turns "/ezscale.plugin.v1.NotifierService/Deliver" into
// "NotifierService/Deliver" for metric labels.
func shortMethod(full string) string {
	full = strings.TrimPrefix(full, "/")
	return strings.TrimPrefix(full, "ezscale.plugin.v1.")
}

func (m *managed) timeout(method string) time.Duration {
	if method == pb.PluginService_Health_FullMethodName {
		return m.h.opts.HealthTimeout
	}
	if m.spec.CallTimeout > 0 {
		return m.spec.CallTimeout
	}
	return m.h.opts.CallTimeout
}

func (m *managed) invoke(ctx context.Context, method string, args, reply any, opts []grpc.CallOption) error {
	inst, err := m.current()
	if err != nil {
		return err
	}
	err = m.invokeOn(ctx, inst, method, args, reply, opts)
	if err == nil || !retryableReads[method] || ctx.Err() != nil || !readLost(err) {
		return err
	}
	// The process died under a read: wait (bounded by the caller's context
	// and one call timeout) for the supervisor to bring up a new process,
	// and ask once more.
	wctx, cancel := context.WithTimeout(ctx, m.timeout(method))
	defer cancel()
	for {
		next, cerr := m.current()
		if cerr == nil && next != inst {
			return m.invokeOn(ctx, next, method, args, reply, opts)
		}
		if m.isSettled() {
			return err
		}
		select {
		case <-wctx.Done():
			return err
		case <-time.After(exitPollInterval):
		}
	}
}

func (m *managed) invokeOn(ctx context.Context, inst *instance, method string, args, reply any, opts []grpc.CallOption) error {
	timeout := m.timeout(method)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := inst.cc.Invoke(cctx, method, args, reply, opts...)
	if err == nil {
		return nil
	}
	if ctx.Err() == nil && (errors.Is(cctx.Err(), context.DeadlineExceeded) || deadlineStatus(err)) {
		// The host's deadline fired, not the caller's: the plugin is
		// wedged. Kill it so the supervisor restarts it, rather than let
		// calls pile up on it.
		reason := fmt.Errorf("%s did not answer within %s; plugin killed and restarting", shortMethod(method), timeout)
		inst.killHung(reason)
		return sdk.UnavailableError(m.h.opts.BackoffBase, "plugin %q: %v", m.spec.Name, reason).WithCause(context.DeadlineExceeded)
	}
	return err
}

// deadlineStatus reports whether err is gRPC's DeadlineExceeded status
// rather than a plugin's answer: the plugin's side of the call enforces the
// deadline it was sent too, and on a loaded machine its status can arrive
// before the host's own timer has fired.
func deadlineStatus(err error) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.DeadlineExceeded {
		return false
	}
	for _, d := range st.Details() {
		if _, isPlugin := d.(*pb.ErrorDetail); isPlugin {
			return false
		}
	}
	return true
}

// processLost reports whether err means the plugin process went away (as
// opposed to the plugin answering with an error).
func processLost(err error) bool {
	return transportStatus(err, codes.Unavailable)
}

// readLost reports whether a read failed because the process it asked is
// gone, seen either way (processLost, connClosed): the read is asked again
// of the restarted process.
func readLost(err error) bool {
	return processLost(err) || connClosed(err)
}

// connClosed reports whether a call failed because its connection was
// closed under it: once the supervisor sees the process exit it closes the
// process's connection, and on a loaded machine that can reach a call
// before the transport's own error does, as gRPC's "the client connection
// is closing" (Canceled). For a read that is the process gone as well. The
// caller's own cancellation is not asked about: invoke returns before,
// when the caller's context has ended.
func connClosed(err error) bool {
	return transportStatus(err, codes.Canceled)
}

// transportStatus reports whether err is gRPC's status code from the
// transport, not an answer of the plugin (which carries an ErrorDetail).
func transportStatus(err error, code codes.Code) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		return false
	}
	for _, d := range st.Details() {
		if _, isPlugin := d.(*pb.ErrorDetail); isPlugin {
			return false
		}
	}
	return true
}
