// Command stdout breaks the rule that plugins never write to stdout: it
// prints before the handshake line.
package main

import (
	"context"
	"fmt"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

type plugin struct{}

func (plugin) Describe() sdk.Description                   { return sdk.Description{Name: "stdout", Version: "1.0.0"} }
func (plugin) Configure(context.Context, sdk.Config) error { return nil }
func (plugin) Health(context.Context) error                { return nil }
func (plugin) Deliver(context.Context, *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	return &pb.DeliverResponse{}, nil
}

func main() {
	fmt.Println("starting up, hello!")
	sdk.Serve(plugin{})
}
