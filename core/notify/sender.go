package notify

import (
	"context"

	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// NotifierSender delivers outbox messages through a notifier plugin,
// looked up at each delivery so that a restarted or reconfigured plugin is
// picked up. The message id is the plugin's idempotency key.
type NotifierSender struct {
	Lookup func() (sdk.Notifier, error)
}

// Send implements outbox.Sender.
func (p *NotifierSender) Send(ctx context.Context, m *outbox.Message) error {
	n, err := p.Lookup()
	if err != nil {
		return err
	}
	_, err = n.Deliver(ctx, &pb.DeliverRequest{
		IdempotencyKey: m.ID, Channel: m.Channel, Recipient: m.Recipient,
		Subject: m.Subject, TextBody: m.BodyText, HtmlBody: m.BodyHTML, Category: m.Category, Headers: m.Headers,
	})
	return err
}
