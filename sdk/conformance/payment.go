package conformance

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// PaymentGatewayFixture is what the payment gateway suite needs.
type PaymentGatewayFixture struct {
	Customer *pb.Customer
	// PaymentMethodToken is a token the fake gateway accepts for a card
	// that charges successfully.
	PaymentMethodToken string
	// Amount to charge; refunded in full afterwards.
	Amount *pb.Money
	// BadSignatureWebhook is a webhook whose signature must not verify.
	BadSignatureWebhook *pb.ParseWebhookRequest
}

// PaymentGateway runs the payment gateway suite: EnsureCustomer is
// idempotent, an attached method is listed, Charge is idempotent per key and
// never charges twice, a negative amount is InvalidInput, Refund works and
// is idempotent, and a webhook with a bad signature is Unauthenticated.
func PaymentGateway(t *testing.T, h *plugintest.Harness, f PaymentGatewayFixture) {
	t.Helper()
	if f.Customer == nil || f.Amount == nil || f.PaymentMethodToken == "" || f.BadSignatureWebhook == nil {
		t.Fatal("conformance: payment gateway: every PaymentGatewayFixture field is required")
	}
	on(t, "payment gateway").requireKind(h, sdk.KindPaymentGateway)
	Plugin(t, h)
	g := h.PaymentGateway()
	on(t, "payment gateway").run("PaymentGateway", func(t st) {

		t.Helper()
		c := ctx(t)
		cust, err := g.EnsureCustomer(c, &pb.EnsureCustomerRequest{IdempotencyKey: "conformance-customer", Customer: f.Customer})
		if err != nil {
			t.Fatalf("EnsureCustomer: %v", err)
		}
		cust2, err := g.EnsureCustomer(c, &pb.EnsureCustomerRequest{IdempotencyKey: "conformance-customer", Customer: f.Customer})
		if err != nil || cust2.GetGatewayCustomerId() != cust.GetGatewayCustomerId() {
			t.Fatalf("EnsureCustomer repeated: %v, id %q, first %q", err, cust2.GetGatewayCustomerId(), cust.GetGatewayCustomerId())
		}
		pm, err := g.AttachPaymentMethod(c, &pb.AttachPaymentMethodRequest{
			IdempotencyKey: "conformance-attach", GatewayCustomerId: cust.GetGatewayCustomerId(),
			PaymentMethodToken: f.PaymentMethodToken, MakeDefault: true,
		})
		if err != nil {
			t.Fatalf("AttachPaymentMethod: %v", err)
		}
		list, err := g.ListPaymentMethods(c, &pb.ListPaymentMethodsRequest{GatewayCustomerId: cust.GetGatewayCustomerId()})
		if err != nil {
			t.Fatalf("ListPaymentMethods: %v", err)
		}
		found := false
		for _, m := range list.GetPaymentMethods() {
			found = found || m.GetId() == pm.GetPaymentMethod().GetId()
		}
		if !found {
			t.Errorf("ListPaymentMethods does not list the attached method %q", pm.GetPaymentMethod().GetId())
		}

		charge := &pb.ChargeRequest{
			IdempotencyKey: "conformance-charge", GatewayCustomerId: cust.GetGatewayCustomerId(),
			PaymentMethodId: pm.GetPaymentMethod().GetId(), Amount: f.Amount, Description: "conformance",
		}
		_, err = g.Charge(c, &pb.ChargeRequest{GatewayCustomerId: charge.GatewayCustomerId, PaymentMethodId: charge.PaymentMethodId, Amount: f.Amount})
		t.wantKind("Charge without idempotency_key", err, sdk.InvalidInput)
		first, err := g.Charge(c, charge)
		if err != nil {
			t.Fatalf("Charge: %v", err)
		}
		if first.GetChargeId() == "" || first.GetStatus() != pb.ChargeStatus_CHARGE_STATUS_SUCCEEDED {
			t.Fatalf("Charge: id %q status %s, want an id and SUCCEEDED", first.GetChargeId(), first.GetStatus())
		}
		second, err := g.Charge(c, charge)
		if err != nil || second.GetChargeId() != first.GetChargeId() {
			t.Fatalf("Charge repeated with the same key: %v, id %q, first %q (charged twice?)", err, second.GetChargeId(), first.GetChargeId())
		}
		negative := proto.Clone(charge).(*pb.ChargeRequest)
		negative.IdempotencyKey = "conformance-negative"
		negative.Amount = &pb.Money{AmountMinor: -1, Currency: f.Amount.GetCurrency()}
		_, err = g.Charge(c, negative)
		t.wantKind("Charge of a negative amount", err, sdk.InvalidInput)

		refund := &pb.RefundRequest{IdempotencyKey: "conformance-refund", ChargeId: first.GetChargeId(), Amount: f.Amount}
		r1, err := g.Refund(c, refund)
		if err != nil {
			t.Fatalf("Refund: %v", err)
		}
		r2, err := g.Refund(c, refund)
		if err != nil || r2.GetRefundId() != r1.GetRefundId() {
			t.Errorf("Refund repeated with the same key: %v, id %q, first %q", err, r2.GetRefundId(), r1.GetRefundId())
		}
		_, err = g.ParseWebhook(c, f.BadSignatureWebhook)
		t.wantKind("ParseWebhook with a bad signature", err, sdk.Unauthenticated)
	})
}
