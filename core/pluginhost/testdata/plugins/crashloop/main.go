// Command crashloop is a notifier that dies shortly after every start, to
// trip the host's crash-loop breaker.
package main

import (
	"context"
	"os"
	"time"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

type plugin struct{}

func (plugin) Describe() sdk.Description { return sdk.Description{Name: "crashloop", Version: "1.0.0"} }
func (plugin) Configure(context.Context, sdk.Config) error {
	// Die soon after the host has seen a successful start.
	time.AfterFunc(200*time.Millisecond, func() { os.Exit(2) })
	return nil
}
func (plugin) Health(context.Context) error { return nil }
func (plugin) Deliver(context.Context, *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	return &pb.DeliverResponse{}, nil
}

func main() { sdk.Serve(plugin{}) }
