package conformance

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// NotifierFixture is what the notifier suite needs from the author.
type NotifierFixture struct {
	// Message is a deliverable message for the plugin under test (its
	// channel and a recipient its fake backend accepts). The suite sets the
	// idempotency key itself.
	Message *pb.DeliverRequest
	// Delivered, when set, is called after each successful delivery, e.g. to
	// check the fake backend received the message.
	Delivered func(t *testing.T, req *pb.DeliverRequest, resp *pb.DeliverResponse)
}

// Notifier runs the notifier suite: Deliver returns a provider message id,
// a repeat with the same idempotency key returns the same id, a missing key,
// a missing recipient or an unknown channel is InvalidInput, and concurrent
// deliveries work.
func Notifier(t *testing.T, h *plugintest.Harness, f NotifierFixture) {
	t.Helper()
	if f.Message == nil {
		t.Fatal("conformance: notifier: NotifierFixture.Message is required")
	}
	on(t, "notifier").requireKind(h, sdk.KindNotifier)
	Plugin(t, h)
	n := h.Notifier()
	msg := func(key string) *pb.DeliverRequest {
		m := proto.Clone(f.Message).(*pb.DeliverRequest)
		m.IdempotencyKey = key
		return m
	}
	on(t, "notifier").run("Notifier", func(t st) {

		t.Helper()
		t.run("DeliverIsIdempotentPerKey", func(t st) {
			t.Helper()
			t.Parallel()
			req := msg("conformance-idem-1")
			first, err := n.Deliver(ctx(t), req)
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if first.GetProviderMessageId() == "" {
				t.Fatal("Deliver: empty provider_message_id")
			}
			if f.Delivered != nil {
				f.Delivered(t.T, req, first)
			}
			second, err := n.Deliver(ctx(t), msg("conformance-idem-1"))
			if err != nil {
				t.Fatalf("Deliver again with the same key: %v", err)
			}
			if second.GetProviderMessageId() != first.GetProviderMessageId() {
				t.Errorf("Deliver with the same key: provider_message_id %q, first was %q", second.GetProviderMessageId(), first.GetProviderMessageId())
			}
			other, err := n.Deliver(ctx(t), msg("conformance-idem-2"))
			if err != nil {
				t.Fatalf("Deliver with another key: %v", err)
			}
			if other.GetProviderMessageId() == first.GetProviderMessageId() {
				t.Errorf("Deliver with another key reused provider_message_id %q", first.GetProviderMessageId())
			}
		})
		t.run("MissingIdempotencyKey", func(t st) {
			t.Helper()
			t.Parallel()
			_, err := n.Deliver(ctx(t), msg(""))
			t.wantKind("Deliver without idempotency_key", err, sdk.InvalidInput)
		})
		t.run("MissingRecipient", func(t st) {
			t.Helper()
			t.Parallel()
			m := msg("conformance-no-recipient")
			m.Recipient = ""
			_, err := n.Deliver(ctx(t), m)
			t.wantKind("Deliver without recipient", err, sdk.InvalidInput)
		})
		t.run("UnknownChannel", func(t st) {
			t.Helper()
			t.Parallel()
			m := msg("conformance-bad-channel")
			m.Channel = "conformance-carrier-pigeon"
			_, err := n.Deliver(ctx(t), m)
			t.wantKind("Deliver on an unknown channel", err, sdk.InvalidInput)
		})
		t.run("Concurrent", func(t st) {
			t.Helper()
			t.Parallel()
			errs := make(chan error, 8)
			for i := range 8 {
				go func() {
					_, err := n.Deliver(ctx(t), msg("conformance-concurrent-"+string(rune('a'+i))))
					errs <- err
				}()
			}
			for range 8 {
				if err := <-errs; err != nil {
					t.Errorf("concurrent Deliver: %v", err)
				}
			}
		})
	})
}
