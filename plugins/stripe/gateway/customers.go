package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/stripe/stripe-go/v82"
)

// MetadataAccountID is the Stripe customer metadata key that holds the core's
// account id; EnsureCustomer finds customers by it.
const MetadataAccountID = "ezscale_account_id"

// Customer is the core account a Stripe customer belongs to.
type Customer struct {
	AccountID string
	Email     string
	Name      string
}

// PaymentMethod is a saved payment method, for display and for charging.
type PaymentMethod struct {
	ID string
	// Type is Stripe's type: "card", "sepa_debit", "us_bank_account"…
	Type string
	// Brand is the card brand ("visa") or the bank's name.
	Brand     string
	Last4     string
	ExpMonth  int32
	ExpYear   int32
	IsDefault bool
}

// maxPaymentMethods bounds ListPaymentMethods; a customer with more saved
// methods than this is not a hosting customer.
const maxPaymentMethods = 100

// EnsureCustomer returns the Stripe customer of c.AccountID, creating it
// when there is none and updating its email and name when they changed.
func (g *Gateway) EnsureCustomer(ctx context.Context, c Customer) (string, error) {
	if c.AccountID == "" || len(c.AccountID) > 200 {
		return "", invalid("customer.account_id", "must be 1 to 200 characters")
	}
	found, err := g.findCustomer(ctx, c.AccountID)
	if err != nil {
		return "", err
	}
	if found != nil {
		if (c.Email != "" && c.Email != found.Email) || (c.Name != "" && c.Name != found.Name) {
			p := &stripe.CustomerUpdateParams{}
			if c.Email != "" {
				p.Email = stripe.String(c.Email)
			}
			if c.Name != "" {
				p.Name = stripe.String(c.Name)
			}
			if _, err := g.sc.V1Customers.Update(ctx, found.ID, p); err != nil {
				return "", classify("updating customer", err)
			}
		}
		return found.ID, nil
	}
	p := &stripe.CustomerCreateParams{Metadata: map[string]string{MetadataAccountID: c.AccountID}}
	if c.Email != "" {
		p.Email = stripe.String(c.Email)
	}
	if c.Name != "" {
		p.Name = stripe.String(c.Name)
	}
	// Search lags creation by up to a minute, so two calls close together
	// both miss; a key derived from the account and its details makes the
	// second return the first's customer. The details are part of the key
	// because Stripe refuses a reused key with different parameters.
	sum := sha256.Sum256([]byte(c.AccountID + "\x00" + c.Email + "\x00" + c.Name))
	p.SetIdempotencyKey(idempotencyKey("customer", hex.EncodeToString(sum[:16])))
	cus, err := g.sc.V1Customers.Create(ctx, p)
	if err != nil {
		return "", classify("creating customer", err)
	}
	return cus.ID, nil
}

func (g *Gateway) findCustomer(ctx context.Context, accountID string) (*stripe.Customer, error) {
	p := &stripe.CustomerSearchParams{}
	p.Query = "metadata['" + MetadataAccountID + "']:'" + searchEscape(accountID) + "'"
	p.Limit = stripe.Int64(1)
	p.Single = true
	for cus, err := range g.sc.V1Customers.Search(ctx, p) {
		if err != nil {
			return nil, classify("searching customers", err)
		}
		return cus, nil
	}
	return nil, nil
}

// searchEscape quotes s for a single-quoted string in Stripe's search query
// language.
func searchEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// ListPaymentMethods returns customerID's saved payment methods, newest
// first, marking the customer's default.
func (g *Gateway) ListPaymentMethods(ctx context.Context, customerID string) ([]PaymentMethod, error) {
	if err := checkID("gateway_customer_id", customerID, "cus_"); err != nil {
		return nil, err
	}
	cus, err := g.sc.V1Customers.Retrieve(ctx, customerID, nil)
	if err != nil {
		return nil, classify("retrieving customer", err)
	}
	if cus.Deleted {
		return nil, &Error{Kind: NotFound, Field: "gateway_customer_id", Message: "customer " + customerID + " is deleted"}
	}
	defaultID := ""
	if cus.InvoiceSettings != nil && cus.InvoiceSettings.DefaultPaymentMethod != nil {
		defaultID = cus.InvoiceSettings.DefaultPaymentMethod.ID
	}
	out := []PaymentMethod{}
	p := &stripe.PaymentMethodListParams{Customer: stripe.String(customerID)}
	p.Limit = stripe.Int64(maxPaymentMethods)
	for pm, err := range g.sc.V1PaymentMethods.List(ctx, p) {
		if err != nil {
			return nil, classify("listing payment methods", err)
		}
		out = append(out, toPaymentMethod(pm, defaultID))
		if len(out) == maxPaymentMethods {
			break
		}
	}
	return out, nil
}

// AttachPaymentMethod attaches a payment method created client-side (pm_…,
// or a legacy card token tok_…) to customerID, optionally as the default for
// future charges.
func (g *Gateway) AttachPaymentMethod(ctx context.Context, key, customerID, token string, makeDefault bool) (PaymentMethod, error) {
	if err := checkIdempotencyKey(key); err != nil {
		return PaymentMethod{}, err
	}
	if err := checkID("gateway_customer_id", customerID, "cus_"); err != nil {
		return PaymentMethod{}, err
	}
	pmID := token
	if strings.HasPrefix(token, "tok_") {
		if err := checkID("payment_method_token", token, "tok_"); err != nil {
			return PaymentMethod{}, err
		}
		p := &stripe.PaymentMethodCreateParams{
			Type: stripe.String(string(stripe.PaymentMethodTypeCard)),
			Card: &stripe.PaymentMethodCreateCardParams{Token: stripe.String(token)},
		}
		p.SetIdempotencyKey(idempotencyKey("pm-from-token", key))
		pm, err := g.sc.V1PaymentMethods.Create(ctx, p)
		if err != nil {
			return PaymentMethod{}, classify("creating payment method from token", err)
		}
		pmID = pm.ID
	} else if err := checkID("payment_method_token", token, "pm_"); err != nil {
		return PaymentMethod{}, err
	}

	ap := &stripe.PaymentMethodAttachParams{Customer: stripe.String(customerID)}
	ap.SetIdempotencyKey(idempotencyKey("attach", key))
	pm, err := g.sc.V1PaymentMethods.Attach(ctx, pmID, ap)
	if err != nil {
		return PaymentMethod{}, classify("attaching payment method", err)
	}
	if makeDefault {
		up := &stripe.CustomerUpdateParams{InvoiceSettings: &stripe.CustomerUpdateInvoiceSettingsParams{
			DefaultPaymentMethod: stripe.String(pm.ID),
		}}
		up.SetIdempotencyKey(idempotencyKey("default-pm", key))
		if _, err := g.sc.V1Customers.Update(ctx, customerID, up); err != nil {
			return PaymentMethod{}, classify("setting default payment method", err)
		}
	}
	out := toPaymentMethod(pm, "")
	out.IsDefault = makeDefault
	return out, nil
}

func toPaymentMethod(pm *stripe.PaymentMethod, defaultID string) PaymentMethod {
	out := PaymentMethod{ID: pm.ID, Type: string(pm.Type), IsDefault: pm.ID != "" && pm.ID == defaultID}
	switch {
	case pm.Card != nil:
		out.Brand = string(pm.Card.Brand)
		out.Last4 = pm.Card.Last4
		out.ExpMonth = int32(pm.Card.ExpMonth)
		out.ExpYear = int32(pm.Card.ExpYear)
	case pm.SEPADebit != nil:
		out.Brand = pm.SEPADebit.BankCode
		out.Last4 = pm.SEPADebit.Last4
	case pm.USBankAccount != nil:
		out.Brand = pm.USBankAccount.BankName
		out.Last4 = pm.USBankAccount.Last4
	case pm.BACSDebit != nil:
		out.Last4 = pm.BACSDebit.Last4
	}
	return out
}

// checkID refuses ids that are empty, lack Stripe's prefix, or contain
// anything but letters, digits and underscores: stripe-go puts ids into URL
// paths unescaped.
func checkID(field, id string, prefixes ...string) error {
	if id == "" {
		return invalid(field, "is required")
	}
	if len(id) > 255 {
		return invalid(field, "is too long")
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return invalid(field, "%q is not a Stripe id", id)
		}
	}
	for _, p := range prefixes {
		if strings.HasPrefix(id, p) {
			return nil
		}
	}
	return invalid(field, "%q is not a Stripe id of the expected kind (%s)", id, strings.Join(prefixes, ", "))
}
