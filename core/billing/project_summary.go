package billing

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/notify"
)

// ProjectSummary is a project's billing at a glance: this month's spend
// and the next renewals of its services, in the account's currency (minor
// units).
type ProjectSummary struct {
	ProjectID string         `json:"project_id"`
	Currency  money.Currency `json:"currency"`
	// Month is the calendar month (UTC) of the spend, "2026-03".
	Month string `json:"month"`
	// Spend is by service, in service id order: the invoice lines of the
	// project (the project each line's service was in when the invoice was
	// written) of the invoices issued this month and not void, tax
	// included.
	Spend      []ServiceAmount `json:"spend"`
	SpendTotal int64           `json:"spend_total"`
	// Renewals are the next renewal invoice of each of the project's
	// services that renews (active or suspended, not cancelled at the end
	// of its term), as it would be written now: plan, add-ons, coupon and
	// tax; by service in renewal date order, then by cycle.
	Renewals        []Renewal     `json:"renewals"`
	RenewalsByCycle []CycleAmount `json:"renewals_by_cycle"`
	RenewalsTotal   int64         `json:"renewals_total"`
}

// ServiceAmount is an amount of one service.
type ServiceAmount struct {
	ServiceID string `json:"service_id"`
	// Name is what the customer calls the service (notify.ServiceName).
	Name   string `json:"name"`
	Amount int64  `json:"amount"`
}

// Renewal is a service's next renewal.
type Renewal struct {
	ServiceID string      `json:"service_id"`
	Name      string      `json:"name"`
	Cycle     money.Cycle `json:"cycle"`
	RenewsOn  time.Time   `json:"renews_on"`
	Amount    int64       `json:"amount"`
}

// CycleAmount is the renewals of one billing cycle.
type CycleAmount struct {
	Cycle  money.Cycle `json:"cycle"`
	Amount int64       `json:"amount"`
}

// ProjectSummary returns the billing summary of projectID, whose services
// (as core/projects says, the caller having authorized the project) are
// serviceIDs. Amounts of another currency than the account's are left out.
func (b *Billing) ProjectSummary(ctx context.Context, accountID, projectID string, serviceIDs []string) (*ProjectSummary, error) {
	db := b.db.Conn(ctx)
	p, err := b.profileTx(ctx, db, accountID)
	if err != nil {
		return nil, err
	}
	now := b.now()
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	out := &ProjectSummary{ProjectID: projectID, Currency: p.Currency, Month: from.Format("2006-01"),
		Spend: []ServiceAmount{}, Renewals: []Renewal{}, RenewalsByCycle: []CycleAmount{}}

	var spent []struct {
		ServiceID string `bun:"service_id"`
		Amount    int64  `bun:"amount"`
	}
	if err := db.NewRaw(`SELECT l.service_id, SUM(l.amount + l.tax) AS amount FROM invoice_lines AS l
		JOIN invoices AS i ON i.id = l.invoice_id
		WHERE l.project_id = ? AND l.service_id IS NOT NULL AND i.account_id = ? AND i.currency = ?
		AND i.status NOT IN (?) AND i.issued_at >= ? AND i.issued_at < ?
		GROUP BY l.service_id ORDER BY l.service_id`,
		projectID, accountID, p.Currency, bun.List([]string{InvoiceDraft, InvoiceVoid}), from, from.AddDate(0, 1, 0)).Scan(ctx, &spent); err != nil {
		return nil, fmt.Errorf("billing: the spend of project %s: %w", projectID, err)
	}
	ids := slices.Clone(serviceIDs)
	for _, s := range spent {
		ids = append(ids, s.ServiceID)
	}
	recs, err := b.services.ServicesTx(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	var svcs []*Service
	for _, rec := range recs {
		if rec.AccountID == accountID {
			svcs = append(svcs, &Service{Service: rec})
		}
	}
	cat, err := b.catalog.PricedTx(ctx, db)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*Service, len(svcs))
	names := make(map[string]string, len(svcs))
	for _, s := range svcs {
		byID[s.ID] = s
		var plan string
		if pl := cat.Plans[s.PlanID]; pl != nil {
			plan = pl.Name
		}
		names[s.ID] = notify.ServiceName(s.Label, plan, notify.Hostname(s.Attributes, s.Options))
	}
	for _, s := range spent {
		out.Spend = append(out.Spend, ServiceAmount{ServiceID: s.ServiceID, Name: names[s.ServiceID], Amount: s.Amount})
		out.SpendTotal += s.Amount
	}

	if err := loadTerms(ctx, db, svcs...); err != nil {
		return nil, err
	}
	var renewing []*Service
	for _, id := range serviceIDs {
		s := byID[id]
		if s == nil || !s.Terms.InTerm || s.Terms.CancelAtPeriodEnd || s.Terms.PeriodEnd == nil || s.Terms.Currency != p.Currency {
			continue
		}
		renewing = append(renewing, s)
	}
	if len(renewing) == 0 {
		return out, nil
	}
	rids := make([]string, len(renewing))
	var couponIDs []string
	for i, s := range renewing {
		rids[i] = s.ID
		if s.Terms.CouponID != nil {
			couponIDs = append(couponIDs, *s.Terms.CouponID)
		}
	}
	addons := map[string][]ServiceAddon{}
	var sas []ServiceAddon
	if err := db.NewSelect().Model(&sas).Where("service_id IN (?)", bun.List(rids)).Order("service_id", "addon_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: loading add-ons: %w", err)
	}
	for _, sa := range sas {
		addons[sa.ServiceID] = append(addons[sa.ServiceID], sa)
	}
	coupons, err := b.catalog.CouponsByID(ctx, db, couponIDs)
	if err != nil {
		return nil, err
	}
	byCycle := map[money.Cycle]int64{}
	for _, s := range renewing {
		var coupon *catalog.Coupon
		if s.Terms.CouponID != nil {
			coupon = coupons[*s.Terms.CouponID]
		}
		d := renewalDraft(s, cat, addons[s.ID], coupon, p, now)
		_, cycle, _ := renewalTerms(s)
		out.Renewals = append(out.Renewals, Renewal{ServiceID: s.ID, Name: names[s.ID], Cycle: cycle, RenewsOn: *s.Terms.PeriodEnd, Amount: d.inv.Total})
		byCycle[cycle] += d.inv.Total
		out.RenewalsTotal += d.inv.Total
	}
	slices.SortStableFunc(out.Renewals, func(a, b Renewal) int { return a.RenewsOn.Compare(b.RenewsOn) })
	for _, c := range money.Cycles() {
		if amount, ok := byCycle[c]; ok {
			out.RenewalsByCycle = append(out.RenewalsByCycle, CycleAmount{Cycle: c, Amount: amount})
		}
	}
	return out, nil
}
