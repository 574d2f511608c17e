package conformance_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// memGateway is a reference payment gateway: idempotent by key, money in
// minor units, webhooks signed with a fixed secret.
type memGateway struct {
	mu      sync.Mutex
	results map[string]any // idempotency key → first response
	methods map[string][]*pb.PaymentMethod
	seq     int
}

func (g *memGateway) Describe() sdk.Description {
	return sdk.Description{Name: "mempay", Version: "0.0.1"}
}
func (g *memGateway) Configure(context.Context, sdk.Config) error { return nil }
func (g *memGateway) Health(context.Context) error                { return nil }

// once returns the response stored under key, or stores make's.
func once[T any](g *memGateway, key string, make func() (T, error)) (T, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r, ok := g.results[key]; ok {
		return r.(T), nil
	}
	r, err := make()
	if err == nil {
		g.results[key] = r
	}
	return r, err
}

func (g *memGateway) id(prefix string) string { g.seq++; return fmt.Sprintf("%s_%d", prefix, g.seq) }

func (g *memGateway) EnsureCustomer(_ context.Context, r *pb.EnsureCustomerRequest) (*pb.EnsureCustomerResponse, error) {
	return once(g, r.GetIdempotencyKey(), func() (*pb.EnsureCustomerResponse, error) {
		return &pb.EnsureCustomerResponse{GatewayCustomerId: g.id("cus")}, nil
	})
}

func (g *memGateway) ListPaymentMethods(_ context.Context, r *pb.ListPaymentMethodsRequest) (*pb.ListPaymentMethodsResponse, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return &pb.ListPaymentMethodsResponse{PaymentMethods: g.methods[r.GetGatewayCustomerId()]}, nil
}

func (g *memGateway) AttachPaymentMethod(_ context.Context, r *pb.AttachPaymentMethodRequest) (*pb.AttachPaymentMethodResponse, error) {
	return once(g, r.GetIdempotencyKey(), func() (*pb.AttachPaymentMethodResponse, error) {
		if r.GetPaymentMethodToken() != "tok_visa" {
			return nil, sdk.FieldErrorf("payment_method_token", "unknown token")
		}
		pm := &pb.PaymentMethod{Id: g.id("pm"), Type: "card", Brand: "visa", Last4: "4242"}
		g.methods[r.GetGatewayCustomerId()] = append(g.methods[r.GetGatewayCustomerId()], pm)
		return &pb.AttachPaymentMethodResponse{PaymentMethod: pm}, nil
	})
}

func (g *memGateway) Charge(_ context.Context, r *pb.ChargeRequest) (*pb.ChargeResponse, error) {
	if r.GetAmount().GetAmountMinor() <= 0 {
		return nil, sdk.FieldErrorf("amount.amount_minor", "must be positive")
	}
	return once(g, r.GetIdempotencyKey(), func() (*pb.ChargeResponse, error) {
		return &pb.ChargeResponse{ChargeId: g.id("ch"), Status: pb.ChargeStatus_CHARGE_STATUS_SUCCEEDED}, nil
	})
}

func (g *memGateway) Refund(_ context.Context, r *pb.RefundRequest) (*pb.RefundResponse, error) {
	return once(g, r.GetIdempotencyKey(), func() (*pb.RefundResponse, error) {
		return &pb.RefundResponse{RefundId: g.id("re"), Status: "succeeded"}, nil
	})
}

func (g *memGateway) ParseWebhook(_ context.Context, r *pb.ParseWebhookRequest) (*pb.ParseWebhookResponse, error) {
	if r.GetHeaders()["Signature"] != "valid" {
		return nil, sdk.Errorf(sdk.Unauthenticated, "webhook signature does not verify")
	}
	return &pb.ParseWebhookResponse{Event: &pb.WebhookEvent{Id: "evt_1", Type: "charge.succeeded"}}, nil
}

func TestPaymentGateway(t *testing.T) {
	t.Parallel()
	h := plugintest.New(t, &memGateway{results: map[string]any{}, methods: map[string][]*pb.PaymentMethod{}})
	conformance.PaymentGateway(t, h, conformance.PaymentGatewayFixture{
		Customer:            &pb.Customer{AccountId: "acct-1", Email: "a@example.com"},
		PaymentMethodToken:  "tok_visa",
		Amount:              &pb.Money{AmountMinor: 999, Currency: "USD"},
		BadSignatureWebhook: &pb.ParseWebhookRequest{Body: []byte(`{}`), Headers: map[string]string{"Signature": "forged"}},
	})
}
