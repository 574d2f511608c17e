package sdk

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"

	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// server holds what the SDK knows about one served plugin: its description
// and whether Configure has succeeded. It is shared by every gRPC service
// registered for the plugin and by the interceptor.
type server struct {
	p      Plugin
	desc   *pb.DescribeResponse
	schema *Schema
	kinds  []Kind
	logger hclog.Logger
	// env is given to every call through its context: the data directory
	// and the outcome store in it.
	env *pluginEnv

	mu         sync.RWMutex
	configured bool
}

func newServer(p Plugin, logger hclog.Logger) (*server, error) {
	d := p.Describe()
	if d.Name == "" {
		return nil, fmt.Errorf("sdk: plugin description has no name")
	}
	schema := d.Schema
	if schema == nil {
		schema = NewSchema()
	}
	if err := schema.check(); err != nil {
		return nil, fmt.Errorf("sdk: plugin %s: %w", d.Name, err)
	}
	if err := d.Options.Validate(); err != nil {
		return nil, fmt.Errorf("sdk: plugin %s: %w", d.Name, err)
	}
	if err := checkImplementation(d.Name, p, d.Capabilities); err != nil {
		return nil, err
	}
	s := &server{p: p, schema: schema, logger: logger}
	if logger == nil {
		s.logger = hclog.NewNullLogger()
	}
	s.env = newPluginEnv(os.Getenv(DataDirEnv), s.logger)
	// Kinds and capabilities are derived from the interfaces p implements;
	// checkImplementation refused any listed capability it lacks.
	var caps []Capability
	for _, k := range kindInterfaces {
		if reflect.TypeOf(p).Implements(k.typ) {
			s.kinds = append(s.kinds, k.kind)
		}
	}
	if slices.Contains(s.kinds, KindProvisioner) {
		caps = provisionerCapabilities(p)
	}
	if _, ok := p.(PlayerHistoryReporter); ok && slices.Contains(s.kinds, KindMonitor) {
		caps = append(caps, CapPlayerHistory)
	}
	if len(d.Options) > 0 && !slices.Contains(s.kinds, KindProvisioner) {
		return nil, fmt.Errorf("sdk: plugin %s declares options, but only provisioners read them", d.Name)
	}
	slices.Sort(caps)
	caps = slices.Compact(caps)
	s.desc = &pb.DescribeResponse{
		Name:            d.Name,
		Version:         d.Version,
		ConfigSchema:    schema.Proto(),
		Options:         d.Options.Proto(),
		ProtocolVersion: ProtocolVersion,
		Sdk:             "go/" + sdkVersion,
	}
	for _, k := range s.kinds {
		s.desc.Kinds = append(s.desc.Kinds, k.Proto())
	}
	for _, c := range caps {
		s.desc.Capabilities = append(s.desc.Capabilities, string(c))
	}
	return s, nil
}

// register adds every service the plugin implements to g.
func (s *server) register(g grpc.ServiceRegistrar) {
	pb.RegisterPluginServiceServer(g, &pluginServer{s: s})
	if p, ok := s.p.(Provisioner); ok {
		pb.RegisterProvisionerServiceServer(g, &provisionerServer{p: p})
	}
	if p, ok := s.p.(Notifier); ok {
		pb.RegisterNotifierServiceServer(g, &notifierServer{Notifier: p})
	}
	if p, ok := s.p.(Community); ok {
		pb.RegisterCommunityServiceServer(g, &communityServer{Community: p})
	}
	if p, ok := s.p.(PaymentGateway); ok {
		pb.RegisterPaymentGatewayServiceServer(g, &paymentServer{PaymentGateway: p})
	}
	if p, ok := s.p.(Monitor); ok {
		pb.RegisterMonitorServiceServer(g, &monitorServer{Monitor: p})
	}
	if p, ok := s.p.(Assistant); ok {
		pb.RegisterAssistantServiceServer(g, &assistantServer{Assistant: p})
	}
	if p, ok := s.p.(Helpdesk); ok {
		pb.RegisterHelpdeskServiceServer(g, &helpdeskServer{Helpdesk: p})
	}
	if p, ok := s.p.(PricingSource); ok {
		pb.RegisterPricingSourceServiceServer(g, &pricingServer{PricingSource: p})
	}
}

func (s *server) isConfigured() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.configured
}

// unary is the SDK's interceptor: it turns panics into Internal errors so
// one bad request does not kill the process, refuses kind calls before
// Configure, refuses requests with an empty idempotency key, and encodes
// every error as a status carrying an ErrorDetail.
func (s *server) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.logger.Error("plugin panicked", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			resp, err = nil, ToStatus(Errorf(Internal, "plugin panicked in %s: %v", info.FullMethod, r))
		}
	}()
	ctx = withEnv(ctx, s.env)
	if !strings.HasPrefix(info.FullMethod, "/"+pb.PluginService_ServiceDesc.ServiceName+"/") {
		if !s.isConfigured() {
			return nil, ToStatus(UnavailableError(0, "plugin is not configured yet"))
		}
		if k, ok := req.(interface{ GetIdempotencyKey() string }); ok && k.GetIdempotencyKey() == "" {
			return nil, ToStatus(FieldErrorf("idempotency_key", "is required for this call"))
		}
	}
	resp, err = handler(ctx, req)
	if err != nil {
		return nil, ToStatus(err)
	}
	return resp, nil
}

// stream is the SDK's interceptor for server-streaming calls: like unary,
// it recovers panics, refuses kind calls before Configure, hands the
// handler the plugin's environment and encodes errors as statuses.
func (s *server) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.logger.Error("plugin panicked", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = ToStatus(Errorf(Internal, "plugin panicked in %s: %v", info.FullMethod, r))
		}
	}()
	if !s.isConfigured() {
		return ToStatus(UnavailableError(0, "plugin is not configured yet"))
	}
	if err := handler(srv, &envStream{ServerStream: ss, ctx: withEnv(ss.Context(), s.env)}); err != nil {
		return ToStatus(err)
	}
	return nil
}

// envStream is a server stream whose context carries the plugin's
// environment.
type envStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (e *envStream) Context() context.Context { return e.ctx }

// interceptors are the SDK's server options: its unary and stream
// interceptors.
func (s *server) interceptors() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(s.unary), grpc.ChainStreamInterceptor(s.stream)}
}

// NewGRPCServer returns a gRPC server serving p with the SDK's interceptor,
// with the data directory named by EZSCALE_PLUGIN_DATA_DIR. opts are passed
// to grpc.NewServer. NewServer also takes the data directory and can close
// it.
func NewGRPCServer(p Plugin, logger hclog.Logger, opts ...grpc.ServerOption) (*grpc.Server, error) {
	s, err := newServer(p, logger)
	if err != nil {
		return nil, err
	}
	g := grpc.NewServer(append(opts, s.interceptors()...)...)
	s.register(g)
	return g, nil
}

// ServerOptions configure NewServer.
type ServerOptions struct {
	// Logger receives panics and the SDK's own problems. [discard]
	Logger hclog.Logger
	// DataDir is the plugin's private data directory (DataDir, Outcomes).
	// Serve takes it from EZSCALE_PLUGIN_DATA_DIR. ["": none]
	DataDir string
	// GRPC options are passed to grpc.NewServer.
	GRPC []grpc.ServerOption
}

// Server is a plugin served over gRPC with the SDK's interceptor, for
// tools and tests that serve a plugin themselves (the plugintest harness
// does); Serve is the way for a plugin's main.
type Server struct {
	*grpc.Server
	s *server
}

// NewServer returns a Server for p. Call Serve on a listener, and Stop when
// done: it also closes the data directory, as a process exit would.
func NewServer(p Plugin, o ServerOptions) (*Server, error) {
	s, err := newServer(p, o.Logger)
	if err != nil {
		return nil, err
	}
	s.env = newPluginEnv(o.DataDir, s.logger)
	g := grpc.NewServer(append(o.GRPC, s.interceptors()...)...)
	s.register(g)
	return &Server{Server: g, s: s}, nil
}

// Stop stops serving at once and closes the plugin's data directory.
func (s *Server) Stop() {
	s.Server.Stop()
	if err := s.s.env.close(); err != nil {
		s.s.logger.Warn("closing the data directory", "error", err)
	}
}

type pluginServer struct {
	pb.UnimplementedPluginServiceServer
	s *server
}

func (ps *pluginServer) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	return ps.s.desc, nil
}

// validate applies the schema and the plugin's own checks.
func (ps *pluginServer) validate(ctx context.Context, cfg map[string]any) (Config, Diagnostics) {
	c, diags := ps.s.schema.Apply(cfg)
	if diags.HasErrors() {
		return nil, diags
	}
	if v, ok := ps.s.p.(ConfigValidator); ok {
		diags = append(diags, v.ValidateConfig(ctx, c)...)
	}
	return c, diags
}

func (ps *pluginServer) ValidateConfig(ctx context.Context, r *pb.ValidateConfigRequest) (*pb.ValidateConfigResponse, error) {
	_, diags := ps.validate(ctx, r.GetConfig().AsMap())
	return &pb.ValidateConfigResponse{Diagnostics: DiagnosticsToProto(diags)}, nil
}

func (ps *pluginServer) Configure(ctx context.Context, r *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	cfg, diags := ps.validate(ctx, r.GetConfig().AsMap())
	if diags.HasErrors() {
		return &pb.ConfigureResponse{Diagnostics: DiagnosticsToProto(diags)}, nil
	}
	if err := ps.s.p.Configure(ctx, cfg); err != nil {
		if ds, ok := err.(Diagnostics); ok {
			return &pb.ConfigureResponse{Diagnostics: DiagnosticsToProto(append(diags, ds...))}, nil
		}
		return nil, err
	}
	ps.s.mu.Lock()
	ps.s.configured = true
	ps.s.mu.Unlock()
	return &pb.ConfigureResponse{Diagnostics: DiagnosticsToProto(diags)}, nil
}

// Health answers for the process before Configure, so that a host (or
// `ezscale plugins check`) can tell "the plugin serves" from "the plugin is
// broken" without configuring it. The plugin's own Health speaks for a
// configured plugin only: most report "not configured" until then.
func (ps *pluginServer) Health(ctx context.Context, _ *pb.HealthRequest) (*pb.HealthResponse, error) {
	if !ps.s.isConfigured() {
		return &pb.HealthResponse{Message: NotConfiguredHealth}, nil
	}
	if err := ps.s.p.Health(ctx); err != nil {
		return nil, err
	}
	return &pb.HealthResponse{Message: "ok"}, nil
}
