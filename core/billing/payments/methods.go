package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// PaymentMethod is a saved method at the payment gateway (only display
// facts are kept here; the gateway holds the card).
type PaymentMethod struct {
	bun.BaseModel `bun:"table:payment_methods"`

	ID              string     `bun:"id,pk"`
	AccountID       string     `bun:"account_id"`
	Gateway         string     `bun:"gateway"`
	GatewayMethodID string     `bun:"gateway_method_id"`
	Type            string     `bun:"type"`
	Brand           string     `bun:"brand"`
	Last4           string     `bun:"last4"`
	ExpMonth        int        `bun:"exp_month"`
	ExpYear         int        `bun:"exp_year"`
	DetachedAt      *time.Time `bun:"detached_at"`
	CreatedAt       time.Time  `bun:"created_at"`

	// Default is set by PaymentMethods from the profile.
	Default bool `bun:"-"`
}

// PaymentMethods lists the account's saved methods, newest first.
func (s *Payments) PaymentMethods(ctx context.Context, accountID string) ([]PaymentMethod, error) {
	p, err := s.billing.Profile(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var out []PaymentMethod
	if err := s.db.Conn(ctx).NewSelect().Model(&out).Where("account_id = ?", accountID).Where("detached_at IS NULL").
		Order("created_at DESC", "id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("payments: listing payment methods: %w", err)
	}
	for i := range out {
		out[i].Default = p.DefaultPaymentMethodID != nil && *p.DefaultPaymentMethodID == out[i].ID
	}
	return out, nil
}

// ensureCustomer returns the account's customer at the gateway, creating
// it on first use and keeping its id (gateways' searches lag).
func (s *Payments) ensureCustomer(ctx context.Context, gw sdk.PaymentGateway, accountID string) (string, error) {
	p, err := s.billing.Profile(ctx, accountID)
	if err != nil {
		return "", err
	}
	if p.Gateway == s.opts.PaymentGateway && p.GatewayCustomerID != "" {
		return p.GatewayCustomerID, nil
	}
	custs, err := s.accounts.Customers(ctx, s.db.Conn(ctx), []string{accountID})
	if err != nil {
		return "", fmt.Errorf("payments: loading account %s: %w", accountID, err)
	}
	acct := custs[accountID]
	resp, err := gw.EnsureCustomer(ctx, &pb.EnsureCustomerRequest{
		IdempotencyKey: "customer:" + accountID,
		Customer:       &pb.Customer{AccountId: accountID, Email: acct.Email, Name: acct.Name},
	})
	if err != nil {
		return "", gatewayError(err)
	}
	id := resp.GetGatewayCustomerId()
	err = s.inTx(ctx, func(ctx context.Context, t *txn) error {
		if err := s.billing.SetGatewayCustomerTx(ctx, t, accountID, s.opts.PaymentGateway, id); err != nil {
			return err
		}
		t.Audit("billing.gateway_customer.create", accountID, "account", accountID, map[string]any{"gateway": s.opts.PaymentGateway})
		return nil
	})
	return id, err
}

// gatewayError turns a gateway plugin error into what the API shows: the
// platform's one mapping of plugin errors (apperr.FromPlugin).
func gatewayError(err error) error {
	return apperr.FromPlugin(err, "the payment gateway")
}

// AttachInput saves a payment method.
type AttachInput struct {
	// Token is what the gateway's client-side library produced (a Stripe
	// PaymentMethod id "pm_…").
	Token       string `json:"token"`
	MakeDefault bool   `json:"make_default"`
	// IdempotencyKey is passed on to the gateway.
	IdempotencyKey string `json:"-"`
}

// AttachPaymentMethod saves a method with the gateway and records it; the
// first method becomes the default. It calls the gateway, so it never runs
// inside a transaction; the gateway's idempotency (the client's key) makes
// a retried request attach once. Errors: Invalid, Unprocessable,
// Unavailable.
func (s *Payments) AttachPaymentMethod(ctx context.Context, accountID string, in AttachInput) (*PaymentMethod, error) {
	if err := noTx(ctx); err != nil {
		return nil, err
	}
	if in.Token == "" || len(in.Token) > 255 {
		return nil, apperr.Field("token", "is required")
	}
	if s.opts.PaymentGateway == "" {
		return nil, apperr.Refusal("token", "gateway_not_configured", "card payments are not configured")
	}
	gw, err := s.gateway(s.opts.PaymentGateway)
	if err != nil {
		return nil, gatewayError(err)
	}
	customer, err := s.ensureCustomer(ctx, gw, accountID)
	if err != nil {
		return nil, err
	}
	key := in.IdempotencyKey
	if key == "" {
		key = newID()
	}
	resp, err := gw.AttachPaymentMethod(ctx, &pb.AttachPaymentMethodRequest{
		IdempotencyKey: "attach:" + accountID + ":" + key, GatewayCustomerId: customer,
		PaymentMethodToken: in.Token, MakeDefault: in.MakeDefault,
	})
	if err != nil {
		return nil, gatewayError(err)
	}
	m := resp.GetPaymentMethod()
	pm := &PaymentMethod{
		ID: newID(), AccountID: accountID, Gateway: s.opts.PaymentGateway, GatewayMethodID: m.GetId(), Type: m.GetType(),
		Brand: m.GetBrand(), Last4: m.GetLast4(), ExpMonth: int(m.GetExpMonth()), ExpYear: int(m.GetExpYear()), CreatedAt: s.now(),
	}
	err = s.inTx(ctx, func(ctx context.Context, t *txn) error {
		_, err := t.NewInsert().Model(pm).On("CONFLICT (account_id, gateway, gateway_method_id) DO UPDATE").
			Set("type = EXCLUDED.type, brand = EXCLUDED.brand, last4 = EXCLUDED.last4, exp_month = EXCLUDED.exp_month, exp_year = EXCLUDED.exp_year, detached_at = NULL").
			Returning("id, created_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("payments: storing payment method: %w", err)
		}
		p, err := s.billing.ProfileTx(ctx, t, accountID)
		if err != nil {
			return err
		}
		if in.MakeDefault || p.DefaultPaymentMethodID == nil {
			if err := s.billing.SetDefaultPaymentMethodTx(ctx, t, accountID, pm.ID); err != nil {
				return err
			}
			pm.Default = true
		}
		t.Audit("billing.payment_method.attach", accountID, "payment_method", pm.ID, map[string]any{"brand": pm.Brand, "last4": pm.Last4, "default": pm.Default})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pm, nil
}

// SetDefaultPaymentMethod makes a saved method the one charged
// automatically. Errors: NotFound.
func (s *Payments) SetDefaultPaymentMethod(ctx context.Context, accountID, pmID string) error {
	return s.inTx(ctx, func(ctx context.Context, t *txn) error {
		if _, err := s.methodTx(ctx, t, accountID, pmID); err != nil {
			return err
		}
		if _, err := s.billing.ProfileTx(ctx, t, accountID); err != nil {
			return err
		}
		if err := s.billing.SetDefaultPaymentMethodTx(ctx, t, accountID, pmID); err != nil {
			return err
		}
		t.Audit("billing.payment_method.default", accountID, "payment_method", pmID, nil)
		return nil
	})
}

// RemovePaymentMethod stops using a saved method (it is no longer charged
// or listed). Errors: NotFound.
func (s *Payments) RemovePaymentMethod(ctx context.Context, accountID, pmID string) error {
	return s.inTx(ctx, func(ctx context.Context, t *txn) error {
		if _, err := s.methodTx(ctx, t, accountID, pmID); err != nil {
			return err
		}
		return s.detach(ctx, t, accountID, pmID)
	})
}

func (s *Payments) detach(ctx context.Context, t *txn, accountID, pmID string) error {
	now := s.now()
	if _, err := t.NewUpdate().Model((*PaymentMethod)(nil)).Set("detached_at = ?", now).Where("id = ?", pmID).Exec(ctx); err != nil {
		return fmt.Errorf("payments: removing payment method: %w", err)
	}
	if err := s.billing.ClearDefaultPaymentMethodTx(ctx, t, accountID, pmID); err != nil {
		return err
	}
	if _, err := t.NewUpdate().Table("auto_topups").Set("payment_method_id = ''").
		Where("account_id = ?", accountID).Where("payment_method_id = ?", pmID).Exec(ctx); err != nil {
		return fmt.Errorf("payments: clearing the auto top-up method: %w", err)
	}
	t.Audit("billing.payment_method.remove", accountID, "payment_method", pmID, nil)
	return nil
}

func (s *Payments) methodTx(ctx context.Context, db bun.IDB, accountID, pmID string) (*PaymentMethod, error) {
	pm := &PaymentMethod{}
	err := db.NewSelect().Model(pm).Where("id = ?", pmID).Where("account_id = ?", accountID).Where("detached_at IS NULL").Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such payment method")
	}
	if err != nil {
		return nil, fmt.Errorf("payments: loading payment method: %w", err)
	}
	return pm, nil
}

// HasPaymentMethodTx reports whether the account has a saved method, as
// db sees it (billing.Payer: a paid service's transfer needs one).
func (s *Payments) HasPaymentMethodTx(ctx context.Context, db bun.IDB, accountID string) (bool, error) {
	has, err := db.NewSelect().Model((*PaymentMethod)(nil)).Where("account_id = ?", accountID).Where("detached_at IS NULL").Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("payments: looking for payment methods of %s: %w", accountID, err)
	}
	return has, nil
}
