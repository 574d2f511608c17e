package payments_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/payments"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// fakeGateway is a payment gateway in the test process: it saves any card
// and charges or refunds it, unless the test set an error for the call.
type fakeGateway struct {
	sdk.PaymentGateway // calls the tests do not make

	mu    sync.Mutex
	fail  map[string]error
	calls map[string]int
}

func (g *fakeGateway) setFail(call string, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail == nil {
		g.fail = map[string]error{}
	}
	g.fail[call] = err
}

// called counts the call and returns the error set for it.
func (g *fakeGateway) called(call string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.calls == nil {
		g.calls = map[string]int{}
	}
	g.calls[call]++
	return g.fail[call]
}

func (g *fakeGateway) count(call string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[call]
}

func (g *fakeGateway) EnsureCustomer(context.Context, *pb.EnsureCustomerRequest) (*pb.EnsureCustomerResponse, error) {
	if err := g.called("customer"); err != nil {
		return nil, err
	}
	return &pb.EnsureCustomerResponse{GatewayCustomerId: "cus_fake"}, nil
}

func (g *fakeGateway) AttachPaymentMethod(_ context.Context, r *pb.AttachPaymentMethodRequest) (*pb.AttachPaymentMethodResponse, error) {
	if err := g.called("attach"); err != nil {
		return nil, err
	}
	return &pb.AttachPaymentMethodResponse{PaymentMethod: &pb.PaymentMethod{Id: r.GetPaymentMethodToken(), Type: "card", Brand: "visa",
		Last4: "4242", ExpMonth: 12, ExpYear: 2030}}, nil
}

func (g *fakeGateway) Charge(_ context.Context, r *pb.ChargeRequest) (*pb.ChargeResponse, error) {
	if err := g.called("charge"); err != nil {
		return nil, err
	}
	return &pb.ChargeResponse{Status: pb.ChargeStatus_CHARGE_STATUS_SUCCEEDED, ChargeId: "ch_" + r.GetIdempotencyKey()}, nil
}

func (g *fakeGateway) Refund(_ context.Context, r *pb.RefundRequest) (*pb.RefundResponse, error) {
	if err := g.called("refund"); err != nil {
		return nil, err
	}
	return &pb.RefundResponse{RefundId: "re_" + r.GetIdempotencyKey(), Status: "succeeded"}, nil
}

func (g *fakeGateway) ParseWebhook(context.Context, *pb.ParseWebhookRequest) (*pb.ParseWebhookResponse, error) {
	if err := g.called("webhook"); err != nil {
		return nil, err
	}
	return nil, sdk.Errorf(sdk.NotSupported, "no event the core subscribes to")
}

// gatewayHost has the fake as every gateway.
type gatewayHost struct{ gw *fakeGateway }

func (h gatewayHost) PaymentGateway(string) (sdk.PaymentGateway, error) { return h.gw, nil }

// setupFakeGateway is a bundle whose payment gateway is a fakeGateway.
func setupFakeGateway(t *testing.T, db *database.DB) (*bundle, *fakeGateway) {
	t.Helper()
	gw := &fakeGateway{}
	tb := setup(t, db, setupOpts{opts: billing.Options{PaymentGateway: "fake"}, gateways: gatewayHost{gw: gw}})
	return tb, gw
}

// TestPaymentPluginErrorsAnswerByKind: the payment gateway's errors reach
// the API through the one mapping of plugin errors, with the codes every
// plugin's errors have: a payment method the gateway does not know is a
// 422 backend_not_found (was gateway_not_found), a conflict a 409
// backend_conflict (was gateway_conflict), an outage a 503
// backend_unavailable with the plugin's Retry-After; on a webhook, a
// conflict is a 409 (was a 503).
func TestPaymentPluginErrorsAnswerByKind(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb, gw := setupFakeGateway(t, db)
		acc, token := tb.customer(t)
		type answer struct {
			Status     int
			Code       string
			RetryAfter string
		}
		for _, tc := range []struct {
			call, method, path string
			err                error
			want               answer
		}{
			{"attach", "POST", "/api/v1/accounts/" + acc + "/payment-methods", sdk.Errorf(sdk.NotFound, "No such PaymentMethod: 'pm_x'"),
				answer{422, "backend_not_found", ""}},
			{"attach", "POST", "/api/v1/accounts/" + acc + "/payment-methods", sdk.Errorf(sdk.Conflict, "customer is being updated"),
				answer{409, "backend_conflict", ""}},
			{"attach", "POST", "/api/v1/accounts/" + acc + "/payment-methods", sdk.UnavailableError(7*time.Second, "rate limited"),
				answer{503, "backend_unavailable", "7"}},
			{"webhook", "POST", "/api/v1/webhooks/payments/fake", sdk.Errorf(sdk.Conflict, "event replayed out of order"),
				answer{409, "backend_conflict", ""}},
		} {
			gw.setFail(tc.call, tc.err)
			res := tb.do(t, tc.method, tc.path, token, map[string]any{"token": "pm_x"})
			var problem struct {
				Code string `json:"code"`
			}
			res.Decode(t, &problem)
			if diff := cmp.Diff(tc.want, answer{res.Status, problem.Code, res.Header.Get("Retry-After")}); diff != "" {
				t.Errorf("%s failing with %v (-want +got):\n%s", tc.call, tc.err, diff)
			}
			gw.setFail(tc.call, nil)
		}
	})
}

// TestChargeTheGatewayCannotFindFailsAtOnce: a charge whose method or
// customer the gateway does not know (NotFound) cannot heal by waiting:
// the payment fails at its first attempt, as a refused input does, instead
// of being retried until the job's attempts run out.
func TestChargeTheGatewayCannotFindFailsAtOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb, gw := setupFakeGateway(t, db)
		acc, token := tb.customer(t)
		tb.must(t, 201, "POST", "/api/v1/accounts/"+acc+"/payment-methods", token, map[string]any{"token": "pm_gone"})
		gw.setFail("charge", sdk.Errorf(sdk.NotFound, "No such PaymentMethod: 'pm_gone'"))
		if _, err := tb.pay.TopUp(tb.ctx, acc, payments.TopUpInput{Amount: 5000, IdempotencyKey: "topup-1"}); err != nil {
			t.Fatal(err)
		}
		testkit.WaitFor(t, "the payment to fail", func() bool {
			ps := tb.payments(t, acc)
			return len(ps) == 1 && ps[0].Status == payments.PaymentFailed
		})
		if n := gw.count("charge"); n != 1 {
			t.Errorf("the gateway was charged %d times, want once", n)
		}
	})
}

// TestRefundTheGatewayCannotFindFailsAndReturnsTheCredit: a refund of a
// charge the gateway does not know (NotFound) is a refusal: it fails at
// once and the credit taken for it returns to the account, instead of
// being retried and then left pending for staff.
func TestRefundTheGatewayCannotFindFailsAndReturnsTheCredit(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb, gw := setupFakeGateway(t, db)
		acc, token := tb.customer(t)
		tb.must(t, 201, "POST", "/api/v1/accounts/"+acc+"/payment-methods", token, map[string]any{"token": "pm_card"})
		if _, err := tb.pay.TopUp(tb.ctx, acc, payments.TopUpInput{Amount: 5000, IdempotencyKey: "topup-1"}); err != nil {
			t.Fatal(err)
		}
		testkit.WaitFor(t, "the top-up to be credited", func() bool {
			bal, _ := tb.b.Ledger().Balance(tb.ctx, acc, "USD")
			return bal.Amount == 5000
		})
		gw.setFail("refund", sdk.Errorf(sdk.NotFound, "No such charge"))
		pays := tb.payments(t, acc)
		if _, err := tb.pay.Refund(tb.ctx, acc, payments.RefundInput{PaymentID: pays[0].ID, Amount: 2000, IdempotencyKey: "refund-1"}); err != nil {
			t.Fatal(err)
		}
		testkit.WaitFor(t, "the refund to fail", func() bool {
			rs, _ := tb.pay.Refunds(tb.ctx, acc, 10)
			return len(rs) == 1 && rs[0].Status == payments.RefundFailed
		})
		if n := gw.count("refund"); n != 1 {
			t.Errorf("the gateway was asked to refund %d times, want once", n)
		}
		bal, _ := tb.b.Ledger().Balance(tb.ctx, acc, "USD")
		if bal.Amount != 5000 {
			t.Errorf("balance %d after the refused refund, want the 5000 back", bal.Amount)
		}
	})
}
