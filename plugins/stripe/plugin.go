package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stripe/stripe-go/v82"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ezscale/platform/plugins/internal/pluginconf"
	"github.com/ezscale/platform/plugins/stripe/gateway"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Version is the plugin's version, reported by Describe.
const Version = "0.1.0"

// Plugin is the Stripe payment gateway. Configure may swap the gateway while
// calls run, so calls take it under a read lock.
type Plugin struct {
	*pluginconf.Holder[*gateway.Gateway]
}

// Interface guards: the compiler checks the plugin's kinds.
var (
	_ sdk.Plugin          = (*Plugin)(nil)
	_ sdk.ConfigValidator = (*Plugin)(nil)
	_ sdk.PaymentGateway  = (*Plugin)(nil)
)

// New returns an unconfigured plugin. Configure builds the gateway without
// calling Stripe: a wrong key shows as Unauthenticated on the first call.
func New() *Plugin {
	return &Plugin{Holder: pluginconf.New(sdk.Description{
		Name:    "stripe",
		Version: Version,
		Schema: sdk.NewSchema().
			String("secret_key", sdk.Required(), sdk.Secret(),
				sdk.Doc("Stripe secret (sk_…) or restricted (rk_…) API key")).
			String("webhook_secret", sdk.Secret(),
				sdk.Doc("signing secret (whsec_…) of the webhook endpoint; without it every webhook is refused")).
			String("api_base_url", sdk.Default(gateway.DefaultAPIBaseURL),
				sdk.Doc("Stripe API root; point it at stripe-mock for tests")).
			Duration("timeout", sdk.Default("30s"), sdk.Doc("per HTTP request to Stripe")).
			Int("max_network_retries", sdk.Default(2),
				sdk.Doc("retries stripe-go makes of requests Stripe marks safe to retry, with the same idempotency key")).
			Duration("webhook_tolerance", sdk.Default("5m"),
				sdk.Doc("how old a signed webhook may be before it is refused as a replay")),
	}, newGateway)}
}

// newGateway builds the gateway after checking what the schema cannot: the
// shape of the keys, the URL, and the ranges. It warns when webhook_secret
// is missing.
func newGateway(cfg sdk.Config) (*gateway.Gateway, sdk.Diagnostics) {
	gc := gateway.Config{
		SecretKey:         cfg.String("secret_key"),
		WebhookSecret:     cfg.String("webhook_secret"),
		APIBaseURL:        cfg.String("api_base_url"),
		Timeout:           cfg.Duration("timeout"),
		MaxNetworkRetries: cfg.Int("max_network_retries"),
		WebhookTolerance:  cfg.Duration("webhook_tolerance"),
		Logger:            stripeLogger{sdk.Logger().Named("stripe")},
	}
	var diags sdk.Diagnostics
	gw, err := gateway.New(gc)
	if err != nil {
		var ge *gateway.Error
		if errors.As(err, &ge) && ge.Field != "" {
			diags = append(diags, sdk.FieldDiagnostic(ge.Field, "%s", ge.Message)...)
		} else {
			diags = append(diags, sdk.FieldDiagnostic("", "%s", err.Error())...)
		}
	}
	if gc.Timeout <= 0 {
		diags = append(diags, sdk.FieldDiagnostic("timeout", "must be positive")...)
	}
	if gc.WebhookTolerance <= 0 || gc.WebhookTolerance > time.Hour {
		diags = append(diags, sdk.FieldDiagnostic("webhook_tolerance", "must be between 0 and 1h")...)
	}
	if gc.MaxNetworkRetries < 0 || gc.MaxNetworkRetries > 10 {
		diags = append(diags, sdk.FieldDiagnostic("max_network_retries", "must be 0 to 10")...)
	}
	if gc.WebhookSecret == "" {
		diags = append(diags, sdk.Diagnostic{Severity: sdk.SeverityWarning, Field: "webhook_secret",
			Summary: "not set: every webhook will be refused, so asynchronous outcomes (bank debits, refunds, disputes) are not reported"})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return gw, diags
}

// gateway is the configured gateway; the SDK refuses calls before
// Configure.
func (p *Plugin) gateway() *gateway.Gateway {
	gw, _ := p.Settings()
	return gw
}

// EnsureCustomer returns the Stripe customer of the core account, creating it
// once.
func (p *Plugin) EnsureCustomer(ctx context.Context, req *pb.EnsureCustomerRequest) (*pb.EnsureCustomerResponse, error) {
	c := req.GetCustomer()
	id, err := p.gateway().EnsureCustomer(ctx, gateway.Customer{
		AccountID: c.GetAccountId(), Email: c.GetEmail(), Name: c.GetName(),
	})
	if err != nil {
		return nil, toSDK(err)
	}
	return &pb.EnsureCustomerResponse{GatewayCustomerId: id}, nil
}

// ListPaymentMethods lists the customer's saved methods, default marked.
func (p *Plugin) ListPaymentMethods(ctx context.Context, req *pb.ListPaymentMethodsRequest) (*pb.ListPaymentMethodsResponse, error) {
	pms, err := p.gateway().ListPaymentMethods(ctx, req.GetGatewayCustomerId())
	if err != nil {
		return nil, toSDK(err)
	}
	out := &pb.ListPaymentMethodsResponse{PaymentMethods: make([]*pb.PaymentMethod, 0, len(pms))}
	for _, pm := range pms {
		out.PaymentMethods = append(out.PaymentMethods, toProtoMethod(pm))
	}
	return out, nil
}

// AttachPaymentMethod attaches a method created by Stripe.js (pm_…) or a
// legacy token (tok_…).
func (p *Plugin) AttachPaymentMethod(ctx context.Context, req *pb.AttachPaymentMethodRequest) (*pb.AttachPaymentMethodResponse, error) {
	pm, err := p.gateway().AttachPaymentMethod(ctx, req.GetIdempotencyKey(), req.GetGatewayCustomerId(),
		req.GetPaymentMethodToken(), req.GetMakeDefault())
	if err != nil {
		return nil, toSDK(err)
	}
	return &pb.AttachPaymentMethodResponse{PaymentMethod: toProtoMethod(pm)}, nil
}

// Charge charges a saved method off-session, idempotently per key.
func (p *Plugin) Charge(ctx context.Context, req *pb.ChargeRequest) (*pb.ChargeResponse, error) {
	res, err := p.gateway().Charge(ctx, gateway.ChargeRequest{
		IdempotencyKey:  req.GetIdempotencyKey(),
		CustomerID:      req.GetGatewayCustomerId(),
		PaymentMethodID: req.GetPaymentMethodId(),
		Amount:          fromProtoMoney(req.GetAmount()),
		Description:     req.GetDescription(),
		Metadata:        req.GetMetadata(),
	})
	if err != nil {
		return nil, toSDK(err)
	}
	return &pb.ChargeResponse{
		ChargeId:       res.ChargeID,
		Status:         chargeStatus(res.Status),
		FailureCode:    res.FailureCode,
		FailureMessage: res.FailureMessage,
	}, nil
}

// Refund refunds (part of) a charge, idempotently per key.
func (p *Plugin) Refund(ctx context.Context, req *pb.RefundRequest) (*pb.RefundResponse, error) {
	res, err := p.gateway().Refund(ctx, gateway.RefundRequest{
		IdempotencyKey: req.GetIdempotencyKey(),
		ChargeID:       req.GetChargeId(),
		Amount:         fromProtoMoney(req.GetAmount()),
		Reason:         req.GetReason(),
	})
	if err != nil {
		return nil, toSDK(err)
	}
	return &pb.RefundResponse{RefundId: res.RefundID, Status: res.Status}, nil
}

// ParseWebhook verifies a Stripe webhook and normalizes it.
func (p *Plugin) ParseWebhook(_ context.Context, req *pb.ParseWebhookRequest) (*pb.ParseWebhookResponse, error) {
	ev, err := p.gateway().ParseWebhook(req.GetBody(), req.GetHeaders())
	if err != nil {
		return nil, toSDK(err)
	}
	out := &pb.WebhookEvent{
		Id:                ev.ID,
		Type:              ev.Type,
		ChargeId:          ev.ChargeID,
		GatewayCustomerId: ev.CustomerID,
		OccurredAt:        timestamppb.New(ev.OccurredAt),
		Metadata:          ev.Metadata,
	}
	if ev.Amount.Currency != "" {
		out.Amount = &pb.Money{AmountMinor: ev.Amount.AmountMinor, Currency: ev.Amount.Currency}
	}
	return &pb.ParseWebhookResponse{Event: out}, nil
}

func fromProtoMoney(m *pb.Money) gateway.Money {
	return gateway.Money{AmountMinor: m.GetAmountMinor(), Currency: m.GetCurrency()}
}

func toProtoMethod(pm gateway.PaymentMethod) *pb.PaymentMethod {
	return &pb.PaymentMethod{
		Id: pm.ID, Type: pm.Type, Brand: pm.Brand, Last4: pm.Last4,
		ExpMonth: pm.ExpMonth, ExpYear: pm.ExpYear, IsDefault: pm.IsDefault,
	}
}

func chargeStatus(s gateway.ChargeStatus) pb.ChargeStatus {
	switch s {
	case gateway.StatusSucceeded:
		return pb.ChargeStatus_CHARGE_STATUS_SUCCEEDED
	case gateway.StatusPending:
		return pb.ChargeStatus_CHARGE_STATUS_PENDING
	case gateway.StatusFailed:
		return pb.ChargeStatus_CHARGE_STATUS_FAILED
	case gateway.StatusRequiresAction:
		return pb.ChargeStatus_CHARGE_STATUS_REQUIRES_ACTION
	}
	return pb.ChargeStatus_CHARGE_STATUS_UNSPECIFIED
}

var kinds = map[gateway.Kind]sdk.ErrorKind{
	gateway.Internal:        sdk.Internal,
	gateway.InvalidInput:    sdk.InvalidInput,
	gateway.NotFound:        sdk.NotFound,
	gateway.Conflict:        sdk.Conflict,
	gateway.Unavailable:     sdk.Unavailable,
	gateway.Unauthenticated: sdk.Unauthenticated,
	gateway.NotSupported:    sdk.NotSupported,
}

// toSDK maps the gateway's errors onto the SDK's kinds. Stripe's message,
// code and request id go into the message for the operator's log.
func toSDK(err error) error {
	var ge *gateway.Error
	if !errors.As(err, &ge) {
		return err
	}
	msg := ge.Message
	var extra []string
	if ge.Code != "" {
		extra = append(extra, "code "+ge.Code)
	}
	if ge.DeclineCode != "" {
		extra = append(extra, "decline code "+ge.DeclineCode)
	}
	if ge.RequestID != "" {
		extra = append(extra, "request "+ge.RequestID)
	}
	if len(extra) > 0 {
		msg += " (" + strings.Join(extra, ", ") + ")"
	}
	kind, ok := kinds[ge.Kind]
	if !ok {
		kind = sdk.Internal
	}
	return &sdk.Error{Kind: kind, Message: msg, Field: ge.Field, RetryAfter: ge.RetryAfter}
}

// stripeLogger sends stripe-go's logs to the plugin's hclog logger, which
// the core shows under the plugin's name.
type stripeLogger struct{ l hclog.Logger }

func (s stripeLogger) Debugf(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }

// Infof logs at debug: stripe-go logs every request at info.
func (s stripeLogger) Infof(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s stripeLogger) Warnf(format string, v ...any)  { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s stripeLogger) Errorf(format string, v ...any) { s.l.Error(fmt.Sprintf(format, v...)) }

var _ stripe.LeveledLoggerInterface = stripeLogger{}
