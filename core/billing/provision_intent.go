package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/intent"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// create calls the provisioner's Create under the intent record
// (core/intent): the start is committed before the call and the outcome
// written after it, retried with backoff within the job's budget. Create's
// policy is to repeat with the same key — the provisioner finds the
// service's server at the backend by the service id before creating one —
// so a start found without an outcome (a replica died mid-call, the
// outcome was never written) is started again and the call repeated,
// which creates at most one server.
func (b *Billing) create(ctx context.Context, plugin string, req *pb.CreateRequest) (*pb.CreateResponse, error) {
	prov, err := b.provisioner(plugin)
	if err != nil {
		return nil, err
	}
	key := req.GetIdempotencyKey()
	err = b.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		begun, err := b.intents.Begin(ctx, tx, []intent.Start{{Key: key, Action: intent.Create, Plugin: plugin,
			ServiceID: req.GetService().GetServiceId(), Subject: "service:" + req.GetService().GetServiceId()}})
		if err != nil || begun[key] {
			return err
		}
		again, err := b.intents.Repeat(ctx, tx, key)
		if err == nil && !again {
			err = fmt.Errorf("billing: the create of %s may not be repeated", key)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	resp, callErr := prov.Create(ctx, req)
	out := intent.Outcome{Key: key, State: intent.Classify(callErr)}
	if callErr != nil {
		out.Detail = callErr.Error()
	} else {
		out.Detail = "created " + resp.GetStatus().GetExternalId()
	}
	if err := b.intents.RecordWithRetry(ctx, "create "+key, func(ctx context.Context) error {
		return b.intents.Finish(ctx, b.db.DB, []intent.Outcome{out})
	}); err != nil {
		// The service records the outcome next; if that fails too, the
		// retry repeats the create (safe, see above).
		b.log.Warn("recording the create's outcome failed", "service_id", key, "error", err)
	}
	return resp, callErr
}

// errPluginDown: the service's plugin is down on this replica.
var errPluginDown = errors.New("the plugin is down on this replica")

// pluginDown reports whether the plugin will not run on this replica until
// an admin acts (its breaker is open): its jobs (provisioning, backend
// sync) snooze instead of spending attempts, so a replica where it runs
// takes them.
func (b *Billing) pluginDown(name string) bool {
	d, ok := b.plugins.(interface{ Down(string) bool })
	return ok && d.Down(name)
}
