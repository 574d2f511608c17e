package catalog

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/money"
)

var countryRe = regexp.MustCompile(`^[A-Z]{2}$`)

// TaxRate is the rate charged to accounts in a country.
type TaxRate struct {
	bun.BaseModel `bun:"table:tax_rates"`

	Country   string    `bun:"country,pk" json:"country"`
	Name      string    `bun:"name" json:"name"`
	RatePPM   int64     `bun:"rate_ppm" json:"rate_ppm"`
	UpdatedAt time.Time `bun:"updated_at" json:"updated_at"`
}

// PutTaxRate sets a country's rate (parts per million: 19 % = 190000).
// Invoices issued from then on use it; issued ones keep theirs. Staff only.
func (cat *Catalog) PutTaxRate(ctx context.Context, country, name string, ratePPM int64) (*TaxRate, error) {
	country = strings.ToUpper(country)
	var errs apperr.Fields
	if !countryRe.MatchString(country) {
		errs.Add("country", "must be an ISO 3166-1 alpha-2 code such as DE")
	}
	if ratePPM < 0 || ratePPM > money.PPM {
		errs.Add("rate_ppm", "must be from 0 to 1000000 (parts per million)")
	}
	if len(name) > 100 {
		errs.Add("name", "must be at most 100 characters")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	r := &TaxRate{Country: country, Name: name, RatePPM: ratePPM, UpdatedAt: cat.now()}
	err := cat.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(r).On("CONFLICT (country) DO UPDATE").
			Set("name = EXCLUDED.name, rate_ppm = EXCLUDED.rate_ppm, updated_at = EXCLUDED.updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("catalog: storing tax rate: %w", err)
		}
		return appendAudit(ctx, tx, "billing.tax_rate.put", "", "tax_rate", country, map[string]any{"rate_ppm": ratePPM, "name": name})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeleteTaxRate removes a country's rate. Staff only. Errors: NotFound.
func (cat *Catalog) DeleteTaxRate(ctx context.Context, country string) error {
	return cat.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewDelete().Model((*TaxRate)(nil)).Where("country = ?", strings.ToUpper(country)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("catalog: deleting tax rate: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFoundf("no tax rate for that country")
		}
		return appendAudit(ctx, tx, "billing.tax_rate.delete", "", "tax_rate", strings.ToUpper(country), nil)
	})
}

// TaxRates lists every rate by country.
func (cat *Catalog) TaxRates(ctx context.Context) ([]TaxRate, error) {
	var out []TaxRate
	if err := cat.db.Conn(ctx).NewSelect().Model(&out).Order("country ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: listing tax rates: %w", err)
	}
	return out, nil
}

// TaxRateMap returns every country's rate (parts per million) as db sees
// it: what an invoice priced in db's transaction charges.
func (cat *Catalog) TaxRateMap(ctx context.Context, db bun.IDB) (map[string]int64, error) {
	var rs []TaxRate
	if err := db.NewSelect().Model(&rs).Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: loading tax rates: %w", err)
	}
	m := make(map[string]int64, len(rs))
	for _, r := range rs {
		m[r.Country] = r.RatePPM
	}
	return m, nil
}
