package sdk

import (
	"context"
	"io"

	"google.golang.org/grpc"

	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Notifier delivers a notification the core has rendered (email, Discord
// DM, webhook). Called by the core's notification jobs, concurrently.
//
// Deliver is idempotent per DeliverRequest.IdempotencyKey where the channel
// allows it (same provider message id, or a Message-ID the receiver
// deduplicates on). Errors: InvalidInput (bad recipient, unsupported
// channel; not retried), Unavailable (retried later by the core's job),
// Unauthenticated (the provider refused the credentials).
//
// Public API, append-only.
type Notifier interface {
	Deliver(ctx context.Context, req *pb.DeliverRequest) (*pb.DeliverResponse, error)
}

// Community manages a chat community (Discord): invites, roles, links.
// Called by the core when a customer links their account and when services
// change. Errors: NotFound for an unknown user, Unavailable when rate
// limited (with RetryAfter).
//
// Public API, append-only.
type Community interface {
	CreateInvite(ctx context.Context, req *pb.CreateInviteRequest) (*pb.CreateInviteResponse, error)
	// SyncRoles makes the user's managed roles exactly the desired ones; it
	// is idempotent by construction.
	SyncRoles(ctx context.Context, req *pb.SyncRolesRequest) (*pb.SyncRolesResponse, error)
	LinkUser(ctx context.Context, req *pb.LinkUserRequest) (*pb.LinkUserResponse, error)
}

// PaymentGateway charges saved payment methods. Called by the core's billing
// jobs and the webhook endpoint.
//
// Charge and Refund are idempotent per key: a repeat returns the first
// result and never moves money twice (pass the key to the gateway's own
// idempotency mechanism). Amounts are int64 minor units plus an ISO 4217
// currency. A declined card is a ChargeResponse with status FAILED, not an
// error; errors are InvalidInput, NotFound (unknown customer or method),
// Conflict, Unavailable, and Unauthenticated (bad API key, or a webhook
// signature that does not verify).
//
// Public API, append-only.
type PaymentGateway interface {
	EnsureCustomer(ctx context.Context, req *pb.EnsureCustomerRequest) (*pb.EnsureCustomerResponse, error)
	ListPaymentMethods(ctx context.Context, req *pb.ListPaymentMethodsRequest) (*pb.ListPaymentMethodsResponse, error)
	AttachPaymentMethod(ctx context.Context, req *pb.AttachPaymentMethodRequest) (*pb.AttachPaymentMethodResponse, error)
	Charge(ctx context.Context, req *pb.ChargeRequest) (*pb.ChargeResponse, error)
	Refund(ctx context.Context, req *pb.RefundRequest) (*pb.RefundResponse, error)
	ParseWebhook(ctx context.Context, req *pb.ParseWebhookRequest) (*pb.ParseWebhookResponse, error)
}

// Monitor reads public game-server statistics. Called periodically by the
// core. Errors: NotFound for an unknown server, Unavailable.
//
// Public API, append-only.
type Monitor interface {
	GetServerStats(ctx context.Context, req *pb.GetServerStatsRequest) (*pb.GetServerStatsResponse, error)
}

// PlayerHistoryReporter is capability CapPlayerHistory: a monitor whose
// provider keeps the server's player-count history. Errors: NotFound for an
// unknown server, Unavailable.
//
// Public API, append-only.
type PlayerHistoryReporter interface {
	GetPlayerHistory(ctx context.Context, req *pb.GetPlayerHistoryRequest) (*pb.GetPlayerHistoryResponse, error)
}

// MonitorClient is what the core holds of a monitor plugin: every call,
// the optional ones answering NotSupported when the plugin lacks them.
type MonitorClient interface {
	Monitor
	PlayerHistoryReporter
}

// Assistant answers a support question or asks for a human (escalate).
// Called by the core's support flow. It can only answer or escalate: it
// performs no action. The request's documents and context are data, never
// instructions. Errors: Unavailable (with RetryAfter when the vendor rate
// limits or is overloaded), Unauthenticated, InvalidInput.
//
// Public API, append-only.
type Assistant interface {
	Answer(ctx context.Context, req *pb.AnswerRequest) (*pb.AnswerResponse, error)
	// StreamAnswer calls send with each piece of the answer's text as it is
	// written, then once with the finished answer (done) as the last call;
	// an error returned by send ends the answer with that error. On the
	// core's side the SDK client calls send as the plugin's messages arrive.
	StreamAnswer(ctx context.Context, req *pb.StreamAnswerRequest, send func(*pb.StreamAnswerResponse) error) error
}

// Helpdesk opens tickets in an external helpdesk and reports their replies.
// OpenTicket and AddMessage are idempotent per key. Errors: InvalidInput,
// NotFound (unknown ticket), Unavailable, Unauthenticated.
//
// Public API, append-only.
type Helpdesk interface {
	OpenTicket(ctx context.Context, req *pb.OpenTicketRequest) (*pb.OpenTicketResponse, error)
	AddMessage(ctx context.Context, req *pb.AddMessageRequest) (*pb.AddMessageResponse, error)
	GetTicket(ctx context.Context, req *pb.GetTicketRequest) (*pb.GetTicketResponse, error)
	ListUpdatedTickets(ctx context.Context, req *pb.ListUpdatedTicketsRequest) (*pb.ListUpdatedTicketsResponse, error)
}

// PricingSource lists a competitor's public plans, with prices in minor
// units. Called periodically by the core. Errors: Unavailable.
//
// Public API, append-only.
type PricingSource interface {
	ListPlans(ctx context.Context, req *pb.ListPlansRequest) (*pb.ListPlansResponse, error)
}

// NewNotifierClient returns a Notifier that calls a plugin over cc.
func NewNotifierClient(cc grpc.ClientConnInterface) Notifier {
	return &notifierClient{c: pb.NewNotifierServiceClient(cc)}
}

type notifierClient struct{ c pb.NotifierServiceClient }

func (n *notifierClient) Deliver(ctx context.Context, r *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	return invoke(ctx, r, n.c.Deliver)
}

// NewCommunityClient returns a Community that calls a plugin over cc.
func NewCommunityClient(cc grpc.ClientConnInterface) Community {
	return &communityClient{c: pb.NewCommunityServiceClient(cc)}
}

type communityClient struct{ c pb.CommunityServiceClient }

func (n *communityClient) CreateInvite(ctx context.Context, r *pb.CreateInviteRequest) (*pb.CreateInviteResponse, error) {
	return invoke(ctx, r, n.c.CreateInvite)
}
func (n *communityClient) SyncRoles(ctx context.Context, r *pb.SyncRolesRequest) (*pb.SyncRolesResponse, error) {
	return invoke(ctx, r, n.c.SyncRoles)
}
func (n *communityClient) LinkUser(ctx context.Context, r *pb.LinkUserRequest) (*pb.LinkUserResponse, error) {
	return invoke(ctx, r, n.c.LinkUser)
}

// NewPaymentGatewayClient returns a PaymentGateway that calls a plugin over cc.
func NewPaymentGatewayClient(cc grpc.ClientConnInterface) PaymentGateway {
	return &paymentClient{c: pb.NewPaymentGatewayServiceClient(cc)}
}

type paymentClient struct {
	c pb.PaymentGatewayServiceClient
}

func (n *paymentClient) EnsureCustomer(ctx context.Context, r *pb.EnsureCustomerRequest) (*pb.EnsureCustomerResponse, error) {
	return invoke(ctx, r, n.c.EnsureCustomer)
}
func (n *paymentClient) ListPaymentMethods(ctx context.Context, r *pb.ListPaymentMethodsRequest) (*pb.ListPaymentMethodsResponse, error) {
	return invoke(ctx, r, n.c.ListPaymentMethods)
}
func (n *paymentClient) AttachPaymentMethod(ctx context.Context, r *pb.AttachPaymentMethodRequest) (*pb.AttachPaymentMethodResponse, error) {
	return invoke(ctx, r, n.c.AttachPaymentMethod)
}
func (n *paymentClient) Charge(ctx context.Context, r *pb.ChargeRequest) (*pb.ChargeResponse, error) {
	return invoke(ctx, r, n.c.Charge)
}
func (n *paymentClient) Refund(ctx context.Context, r *pb.RefundRequest) (*pb.RefundResponse, error) {
	return invoke(ctx, r, n.c.Refund)
}
func (n *paymentClient) ParseWebhook(ctx context.Context, r *pb.ParseWebhookRequest) (*pb.ParseWebhookResponse, error) {
	return invoke(ctx, r, n.c.ParseWebhook)
}

// NewMonitorClient returns a Monitor that calls a plugin over cc.
func NewMonitorClient(cc grpc.ClientConnInterface) MonitorClient {
	return &monitorClient{c: pb.NewMonitorServiceClient(cc)}
}

type monitorClient struct{ c pb.MonitorServiceClient }

func (n *monitorClient) GetServerStats(ctx context.Context, r *pb.GetServerStatsRequest) (*pb.GetServerStatsResponse, error) {
	return invoke(ctx, r, n.c.GetServerStats)
}
func (n *monitorClient) GetPlayerHistory(ctx context.Context, r *pb.GetPlayerHistoryRequest) (*pb.GetPlayerHistoryResponse, error) {
	return invoke(ctx, r, n.c.GetPlayerHistory)
}

// NewAssistantClient returns an Assistant that calls a plugin over cc.
func NewAssistantClient(cc grpc.ClientConnInterface) Assistant {
	return &assistantClient{c: pb.NewAssistantServiceClient(cc)}
}

type assistantClient struct{ c pb.AssistantServiceClient }

func (n *assistantClient) Answer(ctx context.Context, r *pb.AnswerRequest) (*pb.AnswerResponse, error) {
	return invoke(ctx, r, n.c.Answer)
}

func (n *assistantClient) StreamAnswer(ctx context.Context, r *pb.StreamAnswerRequest, send func(*pb.StreamAnswerResponse) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the call when send fails
	stream, err := n.c.StreamAnswer(ctx, r)
	if err != nil {
		return FromStatus(err)
	}
	done := false
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			if !done {
				return Errorf(Internal, "assistant stream ended without a finished answer")
			}
			return nil
		}
		if err != nil {
			return FromStatus(err)
		}
		if done {
			return Errorf(Internal, "assistant stream sent a message after the finished answer")
		}
		done = m.GetDone() != nil
		if err := send(m); err != nil {
			return err
		}
	}
}

// NewHelpdeskClient returns a Helpdesk that calls a plugin over cc.
func NewHelpdeskClient(cc grpc.ClientConnInterface) Helpdesk {
	return &helpdeskClient{c: pb.NewHelpdeskServiceClient(cc)}
}

type helpdeskClient struct{ c pb.HelpdeskServiceClient }

func (n *helpdeskClient) OpenTicket(ctx context.Context, r *pb.OpenTicketRequest) (*pb.OpenTicketResponse, error) {
	return invoke(ctx, r, n.c.OpenTicket)
}
func (n *helpdeskClient) AddMessage(ctx context.Context, r *pb.AddMessageRequest) (*pb.AddMessageResponse, error) {
	return invoke(ctx, r, n.c.AddMessage)
}
func (n *helpdeskClient) GetTicket(ctx context.Context, r *pb.GetTicketRequest) (*pb.GetTicketResponse, error) {
	return invoke(ctx, r, n.c.GetTicket)
}
func (n *helpdeskClient) ListUpdatedTickets(ctx context.Context, r *pb.ListUpdatedTicketsRequest) (*pb.ListUpdatedTicketsResponse, error) {
	return invoke(ctx, r, n.c.ListUpdatedTickets)
}

// NewPricingSourceClient returns a PricingSource that calls a plugin over cc.
func NewPricingSourceClient(cc grpc.ClientConnInterface) PricingSource {
	return &pricingClient{c: pb.NewPricingSourceServiceClient(cc)}
}

type pricingClient struct{ c pb.PricingSourceServiceClient }

func (n *pricingClient) ListPlans(ctx context.Context, r *pb.ListPlansRequest) (*pb.ListPlansResponse, error) {
	return invoke(ctx, r, n.c.ListPlans)
}

// invoke makes one call and turns a gRPC status into an *Error, so callers
// of the client types only ever see SDK errors.
func invoke[Req, Resp any](ctx context.Context, r Req, call func(context.Context, Req, ...grpc.CallOption) (Resp, error)) (Resp, error) {
	resp, err := call(ctx, r)
	if err != nil {
		var zero Resp
		return zero, FromStatus(err)
	}
	return resp, nil
}

// Server adapters. The generated server interfaces require embedding
// Unimplemented*Server (so a method added to the proto later still compiles
// and answers Unimplemented, which clients read as NotSupported). It is
// nested one level deeper than the plugin's interface so the plugin's
// methods win over the Unimplemented ones.

type notifierServer struct {
	Notifier
	unimplNotifier
}
type unimplNotifier struct {
	pb.UnimplementedNotifierServiceServer
}

type communityServer struct {
	Community
	unimplCommunity
}
type unimplCommunity struct {
	pb.UnimplementedCommunityServiceServer
}

type paymentServer struct {
	PaymentGateway
	unimplPayment
}
type unimplPayment struct {
	pb.UnimplementedPaymentGatewayServiceServer
}

type monitorServer struct {
	Monitor
	unimplMonitor
}
type unimplMonitor struct {
	pb.UnimplementedMonitorServiceServer
}

func (s *monitorServer) GetPlayerHistory(ctx context.Context, r *pb.GetPlayerHistoryRequest) (*pb.GetPlayerHistoryResponse, error) {
	return optional(s.Monitor, CapPlayerHistory, r, func(i PlayerHistoryReporter, r *pb.GetPlayerHistoryRequest) (*pb.GetPlayerHistoryResponse, error) {
		return i.GetPlayerHistory(ctx, r)
	})
}

type assistantServer struct {
	Assistant
	unimplAssistant
}
type unimplAssistant struct {
	pb.UnimplementedAssistantServiceServer
}

// StreamAnswer adapts the gRPC stream to the plugin's send function. The
// context is the stream's, which the SDK's stream interceptor prepared.
func (a *assistantServer) StreamAnswer(r *pb.StreamAnswerRequest, stream grpc.ServerStreamingServer[pb.StreamAnswerResponse]) error {
	return a.Assistant.StreamAnswer(stream.Context(), r, stream.Send)
}

type helpdeskServer struct {
	Helpdesk
	unimplHelpdesk
}
type unimplHelpdesk struct {
	pb.UnimplementedHelpdeskServiceServer
}

type pricingServer struct {
	PricingSource
	unimplPricing
}
type unimplPricing struct {
	pb.UnimplementedPricingSourceServiceServer
}
