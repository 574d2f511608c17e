package billing

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
)

var countryRe = regexp.MustCompile(`^[A-Z]{2}$`)

// Profile is an account's billing settings.
type Profile struct {
	bun.BaseModel `bun:"table:billing_profiles"`

	AccountID string         `bun:"account_id,pk"`
	Currency  money.Currency `bun:"currency"`
	// Country (ISO 3166-1 alpha-2) chooses the tax rate.
	Country   string `bun:"country"`
	TaxExempt bool   `bun:"tax_exempt"`
	TaxID     string `bun:"tax_id"`
	// Gateway and GatewayCustomerID: the payment gateway plugin and the
	// customer it created for the account (kept, never searched again).
	Gateway                string    `bun:"gateway"`
	GatewayCustomerID      string    `bun:"gateway_customer_id"`
	DefaultPaymentMethodID *string   `bun:"default_payment_method_id"`
	CreatedAt              time.Time `bun:"created_at"`
	UpdatedAt              time.Time `bun:"updated_at"`
}

// Profile returns the account's billing profile; an account without one
// gets the defaults (the configured currency, no country).
func (b *Billing) Profile(ctx context.Context, accountID string) (*Profile, error) {
	p := &Profile{}
	err := b.db.Conn(ctx).NewSelect().Model(p).Where("account_id = ?", accountID).Scan(ctx)
	if database.IsNoRows(err) {
		return &Profile{AccountID: accountID, Currency: b.opts.Currency}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("billing: loading profile of %s: %w", accountID, err)
	}
	return p, nil
}

// profileTx returns the account's profile, creating the default one.
func (b *Billing) profileTx(ctx context.Context, tx bun.IDB, accountID string) (*Profile, error) {
	now := b.now()
	if _, err := tx.NewInsert().Model(&Profile{AccountID: accountID, Currency: b.opts.Currency, CreatedAt: now, UpdatedAt: now}).
		On("CONFLICT (account_id) DO NOTHING").Exec(ctx); err != nil {
		return nil, fmt.Errorf("billing: creating profile of %s: %w", accountID, err)
	}
	p := &Profile{}
	if err := tx.NewSelect().Model(p).Where("account_id = ?", accountID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: loading profile of %s: %w", accountID, err)
	}
	return p, nil
}

// ProfileUpdate changes a profile; nil fields stay. Customers may set
// Country and TaxID; TaxExempt and Currency are staff-only.
type ProfileUpdate struct {
	Country   *string         `json:"country"`
	TaxID     *string         `json:"tax_id"`
	TaxExempt *bool           `json:"tax_exempt"`
	Currency  *money.Currency `json:"currency"`
}

// UpdateProfile applies u; staff says whether staff-only fields are
// allowed. A currency change needs a zero balance, no open invoice and no
// live service. Errors: Invalid, Forbidden, Conflict.
func (b *Billing) UpdateProfile(ctx context.Context, accountID string, u ProfileUpdate, staff bool) (*Profile, error) {
	var errs apperr.Fields
	if u.Country != nil {
		c := strings.ToUpper(strings.TrimSpace(*u.Country))
		if c != "" && !countryRe.MatchString(c) {
			errs.Add("country", "must be an ISO 3166-1 alpha-2 code such as DE")
		}
		u.Country = &c
	}
	if u.TaxID != nil && len(*u.TaxID) > 64 {
		errs.Add("tax_id", "must be at most 64 characters")
	}
	if u.Currency != nil && !u.Currency.Valid() {
		errs.Add("currency", "must be an ISO 4217 code such as USD")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if !staff && (u.TaxExempt != nil || u.Currency != nil) {
		return nil, apperr.New(apperr.Forbidden, "tax exemption and currency are set by staff").WithReason("staff_only")
	}
	var p *Profile
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		var err error
		if p, err = b.profileTx(ctx, t, accountID); err != nil {
			return err
		}
		changes := map[string]any{}
		if u.Country != nil && *u.Country != p.Country {
			changes["country"] = []string{p.Country, *u.Country}
			p.Country = *u.Country
		}
		if u.TaxID != nil && *u.TaxID != p.TaxID {
			changes["tax_id"] = "changed"
			p.TaxID = strings.TrimSpace(*u.TaxID)
		}
		if u.TaxExempt != nil && *u.TaxExempt != p.TaxExempt {
			changes["tax_exempt"] = *u.TaxExempt
			p.TaxExempt = *u.TaxExempt
		}
		if u.Currency != nil && *u.Currency != p.Currency {
			if err := b.checkCurrencyChange(ctx, t, accountID); err != nil {
				return err
			}
			changes["currency"] = []money.Currency{p.Currency, *u.Currency}
			p.Currency = *u.Currency
		}
		if len(changes) == 0 {
			return nil
		}
		p.UpdatedAt = b.now()
		if _, err := t.NewUpdate().Model(p).WherePK().Column("country", "tax_id", "tax_exempt", "currency", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("billing: updating profile: %w", err)
		}
		if u.Currency != nil {
			// The (empty) balance row follows the account's currency.
			if err := b.ledger.FollowCurrency(ctx, t.Tx, accountID, p.Currency); err != nil {
				return err
			}
		}
		t.Audit("billing.profile.update", accountID, "account", accountID, changes)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (b *Billing) checkCurrencyChange(ctx context.Context, t *txn, accountID string) error {
	balances, err := b.ledger.Balances(ctx, t, []string{accountID})
	if err != nil {
		return err
	}
	open, err := t.NewSelect().Model((*Invoice)(nil)).Where("account_id = ?", accountID).Where("status = ?", InvoiceOpen).Count(ctx)
	if err != nil {
		return fmt.Errorf("billing: checking currency change: %w", err)
	}
	live, err := b.services.LiveServiceCounts(ctx, t, []string{accountID})
	if err != nil {
		return err
	}
	if open > 0 || live[accountID] > 0 || balances[accountID].Amount != 0 {
		return apperr.New(apperr.Conflict, "the currency can change only without credit, open invoices or live services").WithReason("currency_in_use")
	}
	return nil
}

// taxFor returns the rate for a profile: 0 for exempt accounts and
// countries without a rate.
func taxFor(p *Profile, rates map[string]int64) int64 {
	if p.TaxExempt || p.Country == "" {
		return 0
	}
	return rates[p.Country]
}
