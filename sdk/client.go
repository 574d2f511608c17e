package sdk

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// PluginClient is the core's side of the PluginService every plugin serves.
type PluginClient struct{ c pb.PluginServiceClient }

// NewPluginClient returns a PluginClient over cc.
func NewPluginClient(cc grpc.ClientConnInterface) *PluginClient {
	return &PluginClient{c: pb.NewPluginServiceClient(cc)}
}

// Describe returns the plugin's description as sent over the wire.
func (c *PluginClient) Describe(ctx context.Context) (*pb.DescribeResponse, error) {
	return invoke(ctx, &pb.DescribeRequest{}, c.c.Describe)
}

// ValidateConfig asks the plugin to check cfg without applying it.
func (c *PluginClient) ValidateConfig(ctx context.Context, cfg map[string]any) (Diagnostics, error) {
	st, err := MapToStruct(cfg)
	if err != nil {
		return nil, err
	}
	resp, err := invoke(ctx, &pb.ValidateConfigRequest{Config: st}, c.c.ValidateConfig)
	if err != nil {
		return nil, err
	}
	return DiagnosticsFromProto(resp.GetDiagnostics()), nil
}

// Configure applies cfg. The plugin is configured only when the returned
// diagnostics have no errors and err is nil.
func (c *PluginClient) Configure(ctx context.Context, cfg map[string]any) (Diagnostics, error) {
	st, err := MapToStruct(cfg)
	if err != nil {
		return nil, err
	}
	resp, err := invoke(ctx, &pb.ConfigureRequest{Config: st}, c.c.Configure)
	if err != nil {
		return nil, err
	}
	return DiagnosticsFromProto(resp.GetDiagnostics()), nil
}

// Health returns nil when the plugin reports itself healthy.
func (c *PluginClient) Health(ctx context.Context) error {
	_, err := invoke(ctx, &pb.HealthRequest{}, c.c.Health)
	return err
}

// HealthMessage is Health with the plugin's message ("ok", or
// NotConfiguredHealth before Configure).
func (c *PluginClient) HealthMessage(ctx context.Context) (string, error) {
	resp, err := invoke(ctx, &pb.HealthRequest{}, c.c.Health)
	if err != nil {
		return "", err
	}
	return resp.GetMessage(), nil
}

// ParseDescription parses the JSON a plugin prints in describe mode.
func ParseDescription(b []byte) (*pb.DescribeResponse, error) {
	d := &pb.DescribeResponse{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("parsing plugin description: %w", err)
	}
	return d, nil
}

// DescribedKinds returns d's kinds, skipping kinds this SDK does not know.
func DescribedKinds(d *pb.DescribeResponse) []Kind {
	var out []Kind
	for _, k := range d.GetKinds() {
		if kind := KindFromProto(k); kind != "" {
			out = append(out, kind)
		}
	}
	return out
}
