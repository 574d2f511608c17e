package billing

import (
	"context"
	"errors"
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

// errInTx guards the calls that reach a plugin: they must never run while
// a transaction (and on SQLite the one write connection) is held.
var errInTx = errors.New("billing: a plugin call was attempted inside a database transaction")

func noTx(ctx context.Context) error {
	if _, ok := database.TxFrom(ctx); ok {
		return errInTx
	}
	return nil
}

// PaymentMethods lists the account's saved methods, newest first.
func (b *Billing) PaymentMethods(ctx context.Context, accountID string) ([]PaymentMethod, error) {
	p, err := b.Profile(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var out []PaymentMethod
	if err := b.db.Conn(ctx).NewSelect().Model(&out).Where("account_id = ?", accountID).Where("detached_at IS NULL").
		Order("created_at DESC", "id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: listing payment methods: %w", err)
	}
	for i := range out {
		out[i].Default = p.DefaultPaymentMethodID != nil && *p.DefaultPaymentMethodID == out[i].ID
	}
	return out, nil
}

// ensureCustomer returns the account's customer at the gateway, creating
// it on first use and keeping its id (gateways' searches lag).
func (b *Billing) ensureCustomer(ctx context.Context, gw sdk.PaymentGateway, accountID string) (string, error) {
	p, err := b.Profile(ctx, accountID)
	if err != nil {
		return "", err
	}
	if p.Gateway == b.opts.PaymentGateway && p.GatewayCustomerID != "" {
		return p.GatewayCustomerID, nil
	}
	custs, err := b.accounts.Customers(ctx, b.db.Conn(ctx), []string{accountID})
	if err != nil {
		return "", fmt.Errorf("billing: loading account %s: %w", accountID, err)
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
	err = b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if _, err := b.profileTx(ctx, t, accountID); err != nil {
			return err
		}
		_, err := t.NewUpdate().Model((*Profile)(nil)).Set("gateway = ?", b.opts.PaymentGateway).Set("gateway_customer_id = ?", id).
			Set("updated_at = ?", b.now()).Where("account_id = ?", accountID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("billing: storing gateway customer: %w", err)
		}
		t.Audit("billing.gateway_customer.create", accountID, "account", accountID, map[string]any{"gateway": b.opts.PaymentGateway})
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
func (b *Billing) AttachPaymentMethod(ctx context.Context, accountID string, in AttachInput) (*PaymentMethod, error) {
	if err := noTx(ctx); err != nil {
		return nil, err
	}
	if in.Token == "" || len(in.Token) > 255 {
		return nil, apperr.Field("token", "is required")
	}
	if b.opts.PaymentGateway == "" {
		return nil, unprocessable("token", "gateway_not_configured", "card payments are not configured")
	}
	gw, err := b.gateway(b.opts.PaymentGateway)
	if err != nil {
		return nil, gatewayError(err)
	}
	customer, err := b.ensureCustomer(ctx, gw, accountID)
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
		ID: newID(), AccountID: accountID, Gateway: b.opts.PaymentGateway, GatewayMethodID: m.GetId(), Type: m.GetType(),
		Brand: m.GetBrand(), Last4: m.GetLast4(), ExpMonth: int(m.GetExpMonth()), ExpYear: int(m.GetExpYear()), CreatedAt: b.now(),
	}
	err = b.inTx(ctx, func(ctx context.Context, t *txn) error {
		_, err := t.NewInsert().Model(pm).On("CONFLICT (account_id, gateway, gateway_method_id) DO UPDATE").
			Set("type = EXCLUDED.type, brand = EXCLUDED.brand, last4 = EXCLUDED.last4, exp_month = EXCLUDED.exp_month, exp_year = EXCLUDED.exp_year, detached_at = NULL").
			Returning("id, created_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("billing: storing payment method: %w", err)
		}
		p, err := b.profileTx(ctx, t, accountID)
		if err != nil {
			return err
		}
		if in.MakeDefault || p.DefaultPaymentMethodID == nil {
			if err := b.setDefault(ctx, t, accountID, pm.ID); err != nil {
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

func (b *Billing) setDefault(ctx context.Context, t *txn, accountID, pmID string) error {
	_, err := t.NewUpdate().Model((*Profile)(nil)).Set("default_payment_method_id = ?", pmID).Set("updated_at = ?", b.now()).
		Where("account_id = ?", accountID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("billing: setting the default payment method: %w", err)
	}
	return nil
}

// SetDefaultPaymentMethod makes a saved method the one charged
// automatically. Errors: NotFound.
func (b *Billing) SetDefaultPaymentMethod(ctx context.Context, accountID, pmID string) error {
	return b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if _, err := b.methodTx(ctx, t, accountID, pmID); err != nil {
			return err
		}
		if _, err := b.profileTx(ctx, t, accountID); err != nil {
			return err
		}
		if err := b.setDefault(ctx, t, accountID, pmID); err != nil {
			return err
		}
		t.Audit("billing.payment_method.default", accountID, "payment_method", pmID, nil)
		return nil
	})
}

// RemovePaymentMethod stops using a saved method (it is no longer charged
// or listed). Errors: NotFound.
func (b *Billing) RemovePaymentMethod(ctx context.Context, accountID, pmID string) error {
	return b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if _, err := b.methodTx(ctx, t, accountID, pmID); err != nil {
			return err
		}
		return b.detach(ctx, t, accountID, pmID)
	})
}

func (b *Billing) detach(ctx context.Context, t *txn, accountID, pmID string) error {
	now := b.now()
	if _, err := t.NewUpdate().Model((*PaymentMethod)(nil)).Set("detached_at = ?", now).Where("id = ?", pmID).Exec(ctx); err != nil {
		return fmt.Errorf("billing: removing payment method: %w", err)
	}
	if _, err := t.NewUpdate().Model((*Profile)(nil)).Set("default_payment_method_id = NULL").Set("updated_at = ?", now).
		Where("account_id = ?", accountID).Where("default_payment_method_id = ?", pmID).Exec(ctx); err != nil {
		return fmt.Errorf("billing: clearing the default payment method: %w", err)
	}
	if _, err := t.NewUpdate().Table("auto_topups").Set("payment_method_id = ''").
		Where("account_id = ?", accountID).Where("payment_method_id = ?", pmID).Exec(ctx); err != nil {
		return fmt.Errorf("billing: clearing the auto top-up method: %w", err)
	}
	t.Audit("billing.payment_method.remove", accountID, "payment_method", pmID, nil)
	return nil
}

func (b *Billing) methodTx(ctx context.Context, db bun.IDB, accountID, pmID string) (*PaymentMethod, error) {
	pm := &PaymentMethod{}
	err := db.NewSelect().Model(pm).Where("id = ?", pmID).Where("account_id = ?", accountID).Where("detached_at IS NULL").Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such payment method")
	}
	if err != nil {
		return nil, fmt.Errorf("billing: loading payment method: %w", err)
	}
	return pm, nil
}

// hasPaymentMethod reports whether the account has a saved method, as db
// sees it.
func hasPaymentMethod(ctx context.Context, db bun.IDB, accountID string) (bool, error) {
	has, err := db.NewSelect().Model((*PaymentMethod)(nil)).Where("account_id = ?", accountID).Where("detached_at IS NULL").Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("billing: looking for payment methods of %s: %w", accountID, err)
	}
	return has, nil
}
