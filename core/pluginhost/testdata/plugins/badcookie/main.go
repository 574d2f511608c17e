// Command badcookie is a plugin built for another host: its magic cookie is
// not the SDK's, so it refuses to run under the core.
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

func (plugin) Describe() sdk.Description                   { return sdk.Description{Name: "badcookie", Version: "1.0.0"} }
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
	cfg.MagicCookieKey = "SOME_OTHER_HOST_PLUGIN_COOKIE"
	cfg.MagicCookieValue = "not-ezscale"
	goplugin.Serve(cfg)
}
