// Command badversion speaks plugin protocol 2, which this core does not.
package main

import (
	"context"
	"fmt"
	"os"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

type plugin struct{}

func (plugin) Describe() sdk.Description {
	return sdk.Description{Name: "badversion", Version: "1.0.0"}
}
func (plugin) Configure(context.Context, sdk.Config) error { return nil }
func (plugin) Health(context.Context) error                { return nil }
func (plugin) Deliver(context.Context, *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	return &pb.DeliverResponse{}, nil
}

func main() {
	cfg, err := sdk.ServeConfig(plugin{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg.ProtocolVersion = sdk.ProtocolVersion + 1
	goplugin.Serve(cfg)
}
