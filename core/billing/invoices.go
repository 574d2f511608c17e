package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/services"
)

// Invoice statuses.
const (
	InvoiceDraft         = "draft"
	InvoiceOpen          = "open"
	InvoicePaid          = "paid"
	InvoiceVoid          = "void"
	InvoiceUncollectible = "uncollectible"
)

// Invoice reasons: the database allows one invoice per (service, period
// start, reason).
const (
	ReasonOrder   = "order"
	ReasonRenewal = "renewal"
	ReasonUpgrade = "upgrade"
	ReasonManual  = "manual"
)

// Invoice is a bill to an account.
type Invoice struct {
	bun.BaseModel `bun:"table:invoices"`

	ID        string `bun:"id,pk"`
	AccountID string `bun:"account_id"`
	// Number is gap-free and assigned when the invoice is issued.
	Number      *int64         `bun:"number"`
	Status      string         `bun:"status"`
	Reason      string         `bun:"reason"`
	ServiceID   *string        `bun:"service_id"`
	PeriodStart *time.Time     `bun:"period_start"`
	PeriodEnd   *time.Time     `bun:"period_end"`
	Currency    money.Currency `bun:"currency"`
	// Subtotal of the charges, Discount (positive) off it, Tax on the
	// rest (rounded once), Total = Subtotal - Discount + Tax.
	Subtotal   int64      `bun:"subtotal"`
	Discount   int64      `bun:"discount"`
	Tax        int64      `bun:"tax"`
	Total      int64      `bun:"total"`
	AmountPaid int64      `bun:"amount_paid"`
	TaxCountry string     `bun:"tax_country"`
	TaxRatePPM int64      `bun:"tax_rate_ppm"`
	TaxExempt  bool       `bun:"tax_exempt"`
	Memo       string     `bun:"memo"`
	DueAt      time.Time  `bun:"due_at"`
	IssuedAt   *time.Time `bun:"issued_at"`
	PaidAt     *time.Time `bun:"paid_at"`
	VoidedAt   *time.Time `bun:"voided_at"`
	VoidReason string     `bun:"void_reason"`
	// Dunning state.
	ChargeAttempts int        `bun:"charge_attempts"`
	LastChargeAt   *time.Time `bun:"last_charge_at"`
	NotifiedAt     *time.Time `bun:"notified_at"`
	RemindersSent  int        `bun:"reminders_sent"`
	LastReminderAt *time.Time `bun:"last_reminder_at"`
	CreatedAt      time.Time  `bun:"created_at"`
	UpdatedAt      time.Time  `bun:"updated_at"`

	// Lines are loaded by Invoice, not by listings.
	Lines []InvoiceLine `bun:"-"`
}

// AmountDue is what is left to pay.
func (i *Invoice) AmountDue() int64 { return i.Total - i.AmountPaid }

// Line kinds.
const (
	LinePlan      = "plan"
	LineAddon     = "addon"
	LineDiscount  = "discount"
	LineProration = "proration"
	LineCustom    = "custom"
)

// InvoiceLine is one line of an invoice.
type InvoiceLine struct {
	bun.BaseModel `bun:"table:invoice_lines"`

	ID          string  `bun:"id,pk"`
	InvoiceID   string  `bun:"invoice_id"`
	Position    int     `bun:"position"`
	Kind        string  `bun:"kind"`
	Description string  `bun:"description"`
	ServiceID   *string `bun:"service_id"`
	Quantity    int     `bun:"quantity"`
	UnitAmount  int64   `bun:"unit_amount"`
	// Amount = Quantity × UnitAmount; negative for discounts.
	Amount int64 `bun:"amount"`
	// Tax is this line's share of the invoice's tax (the shares sum to it).
	Tax         int64      `bun:"tax"`
	PeriodStart *time.Time `bun:"period_start"`
	PeriodEnd   *time.Time `bun:"period_end"`
	// ProjectID is the project the line's service was in when the invoice
	// was written (core/projects); nil: none.
	ProjectID *string `bun:"project_id"`
}

// draft builds an invoice and its lines before it is stored.
type draft struct {
	inv   *Invoice
	lines []InvoiceLine
	// field is the request field a total over money.MaxAmount is blamed
	// on ("" = total).
	field string
}

func newDraft(accountID, reason string, serviceID *string, cur money.Currency, due, now time.Time) *draft {
	return &draft{inv: &Invoice{
		ID: newID(), AccountID: accountID, Status: InvoiceDraft, Reason: reason, ServiceID: serviceID,
		Currency: cur, DueAt: due, CreatedAt: now, UpdatedAt: now,
	}}
}

func (d *draft) add(kind, desc string, serviceID *string, qty int, unit int64, start, end *time.Time) {
	d.lines = append(d.lines, InvoiceLine{
		ID: newID(), InvoiceID: d.inv.ID, Position: len(d.lines) + 1, Kind: kind, Description: desc,
		ServiceID: serviceID, Quantity: qty, UnitAmount: unit, Amount: int64(qty) * unit, PeriodStart: start, PeriodEnd: end,
	})
}

// price totals the lines: the discount comes off the subtotal, the tax is
// computed once on what is left, and split over the charged lines in
// proportion to their amounts (Allocate: the shares sum to the tax).
func (d *draft) price(p *Profile, ratePPM int64) {
	inv := d.inv
	inv.Subtotal, inv.Discount = 0, 0
	weights := make([]int64, len(d.lines))
	for i, l := range d.lines {
		if l.Amount < 0 {
			inv.Discount -= l.Amount
		} else {
			inv.Subtotal += l.Amount
			weights[i] = l.Amount
		}
	}
	inv.Discount = min(inv.Discount, inv.Subtotal)
	inv.TaxCountry, inv.TaxExempt = p.Country, p.TaxExempt
	inv.TaxRatePPM = ratePPM
	inv.Tax = money.Tax(inv.Subtotal-inv.Discount, ratePPM)
	inv.Total = inv.Subtotal - inv.Discount + inv.Tax
	for i := range d.lines {
		d.lines[i].Tax = 0
	}
	if inv.Tax != 0 && inv.Subtotal > 0 {
		for i, t := range money.Allocate(inv.Tax, weights) {
			d.lines[i].Tax = t
		}
	}
}

// store inserts the draft; issue numbers it when the status is open.
func (d *draft) store(ctx context.Context, db bun.IDB) error {
	if _, err := db.NewInsert().Model(d.inv).Exec(ctx); err != nil {
		return err
	}
	if len(d.lines) > 0 {
		if _, err := db.NewInsert().Model(&d.lines).Exec(ctx); err != nil {
			return fmt.Errorf("billing: inserting lines of invoice %s: %w", d.inv.ID, err)
		}
	}
	d.inv.Lines = d.lines
	return nil
}

// takeNumbers reserves n consecutive invoice numbers in tx and returns the
// first. The counter row is locked until tx ends, so numbers are gap-free:
// a rolled-back transaction gives its numbers back.
func takeNumbers(ctx context.Context, db bun.IDB, n int) (int64, error) {
	var last int64
	err := db.NewUpdate().Table("billing_counters").Set("value = value + ?", n).Where("name = 'invoice'").
		Returning("value").Scan(ctx, &last)
	if err != nil {
		return 0, fmt.Errorf("billing: taking invoice numbers: %w", err)
	}
	return last - int64(n) + 1, nil
}

// createInvoice prices, numbers and stores an open invoice in t.
func (b *Billing) createInvoice(ctx context.Context, t *txn, d *draft, p *Profile) error {
	rates, err := b.catalog.TaxRateMap(ctx, t)
	if err != nil {
		return err
	}
	d.price(p, taxFor(p, rates))
	if err := d.bounded(d.field, "the invoice's total"); err != nil {
		return err
	}
	num, err := takeNumbers(ctx, t, 1)
	if err != nil {
		return err
	}
	now := b.now()
	d.inv.Number, d.inv.Status, d.inv.IssuedAt = &num, InvoiceOpen, &now
	if err := b.runLinesHooks(ctx, t, d.lines); err != nil {
		return err
	}
	if err := d.store(ctx, t); err != nil {
		if database.IsUniqueViolation(err) {
			return apperr.New(apperr.Conflict, "an invoice for this service and period already exists").WithReason("invoice_exists")
		}
		return fmt.Errorf("billing: inserting invoice: %w", err)
	}
	t.Audit("billing.invoice.issue", d.inv.AccountID, "invoice", d.inv.ID, map[string]any{
		"number": num, "reason": d.inv.Reason, "total": d.inv.Total, "currency": d.inv.Currency,
	})
	return b.runIssuedHooks(ctx, t, []*Invoice{d.inv})
}

// Invoice returns an invoice of the account with its lines. Errors:
// NotFound (also for another account's invoice).
func (b *Billing) Invoice(ctx context.Context, accountID, id string) (*Invoice, error) {
	inv, err := b.invoiceTx(ctx, b.db.Conn(ctx), id, false)
	if err != nil {
		return nil, err
	}
	if accountID != "" && inv.AccountID != accountID {
		return nil, apperr.NotFoundf("no such invoice")
	}
	if err := b.db.Conn(ctx).NewSelect().Model(&inv.Lines).Where("invoice_id = ?", inv.ID).Order("position ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: loading lines of %s: %w", id, err)
	}
	return inv, nil
}

// invoiceTx loads an invoice, locking it on PostgreSQL when lock is set.
func (b *Billing) invoiceTx(ctx context.Context, db bun.IDB, id string, lock bool) (*Invoice, error) {
	inv := &Invoice{}
	q := db.NewSelect().Model(inv).Where("id = ?", id)
	if lock {
		q = database.ForUpdate(q)
	}
	if err := q.Scan(ctx); err != nil {
		if database.IsNoRows(err) {
			return nil, apperr.NotFoundf("no such invoice")
		}
		return nil, fmt.Errorf("billing: loading invoice %s: %w", id, err)
	}
	return inv, nil
}

// InvoiceFilter selects invoices for a listing.
type InvoiceFilter struct {
	AccountID string
	ServiceID string
	Status    string
	// After is the id of the last invoice of the previous page (newest
	// first: ids are UUIDv7, so time-ordered).
	After string
	Limit int
	// Issued leaves out drafts (staff work in progress): customers see
	// issued invoices only.
	Issued bool
	// ProjectID keeps the invoices with a line of that project (the
	// project its service was in when the invoice was written);
	// NoProject those with a line of no project.
	ProjectID string
}

// NoProject is the ProjectID filter value for lines of no project.
const NoProject = "none"

// Invoices lists invoices newest first.
func (b *Billing) Invoices(ctx context.Context, f InvoiceFilter) ([]Invoice, error) {
	var out []Invoice
	q := b.db.Conn(ctx).NewSelect().Model(&out).Order("id DESC").Limit(int64(f.Limit))
	if f.AccountID != "" {
		q = q.Where("account_id = ?", f.AccountID)
	}
	if f.ServiceID != "" {
		q = q.Where("service_id = ?", f.ServiceID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	if f.Issued {
		q = q.Where("status <> ?", InvoiceDraft)
	}
	switch f.ProjectID {
	case "":
	case NoProject:
		q = q.Where("EXISTS (SELECT 1 FROM invoice_lines AS l WHERE l.invoice_id = invoice.id AND l.project_id IS NULL)")
	default:
		q = q.Where("EXISTS (SELECT 1 FROM invoice_lines AS l WHERE l.invoice_id = invoice.id AND l.project_id = ?)", f.ProjectID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: listing invoices: %w", err)
	}
	return out, nil
}

// VoidInvoice voids a draft, open or uncollectible invoice. What it had
// been paid returns to the account's credit (and is applied to other open
// invoices); a voided order invoice cancels its pending service. Staff
// only. Errors: NotFound, Conflict (paid or void already).
func (b *Billing) VoidInvoice(ctx context.Context, id, reason string) (*Invoice, error) {
	var inv *Invoice
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if err := b.lockAccountOfInvoice(ctx, t, id); err != nil {
			return err
		}
		var err error
		inv, err = b.invoiceTx(ctx, t, id, true)
		if err != nil {
			return err
		}
		if inv.Status == InvoicePaid || inv.Status == InvoiceVoid {
			return apperr.New(apperr.Conflict, "a %s invoice cannot be voided", inv.Status).WithReason("invoice_" + inv.Status)
		}
		if err := b.voidTx(ctx, t, inv, reason); err != nil {
			return err
		}
		t.Audit("billing.invoice.void", inv.AccountID, "invoice", inv.ID, map[string]any{"reason": reason, "refunded_to_credit": inv.AmountPaid})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// voidTx voids inv and returns its paid amount to credit. A voided order
// invoice cancels its service while the order is still pending, through
// the status machine (endService), so the status hooks see it end.
func (b *Billing) voidTx(ctx context.Context, t *txn, inv *Invoice, reason string) error {
	now := b.now()
	if _, err := t.NewUpdate().Model(inv).WherePK().Set("status = ?", InvoiceVoid).Set("voided_at = ?", now).
		Set("void_reason = ?", reason).Set("updated_at = ?", now).Exec(ctx); err != nil {
		return fmt.Errorf("billing: voiding invoice %s: %w", inv.ID, err)
	}
	inv.Status, inv.VoidedAt, inv.VoidReason = InvoiceVoid, &now, reason
	if inv.AmountPaid > 0 {
		_, err := b.ledger.Post(ctx, t.Tx, ledger.Posting{
			AccountID: inv.AccountID, Currency: inv.Currency, Amount: inv.AmountPaid, Kind: ledger.KindInvoiceCredit,
			InvoiceID: inv.ID, IdempotencyKey: "void:" + inv.ID, Description: fmt.Sprintf("Credit from voided invoice %s", invoiceRef(inv)),
		})
		if err != nil {
			return err
		}
		if _, err := b.applyCredit(ctx, t, inv.AccountID, inv.Currency); err != nil {
			return err
		}
	}
	if inv.Reason == ReasonOrder && inv.ServiceID != nil {
		svc, err := b.serviceTx(ctx, t, *inv.ServiceID, true)
		if err != nil {
			return err
		}
		if svc.Status == services.StatusPending {
			if err := b.endService(ctx, t, svc, services.StatusCancelled); err != nil {
				return fmt.Errorf("billing: cancelling the unpaid order: %w", err)
			}
		}
	}
	return nil
}

// MarkUncollectible stops dunning an open invoice (its service stays as
// dunning left it). Staff only. Errors: NotFound, Conflict.
func (b *Billing) MarkUncollectible(ctx context.Context, id string) (*Invoice, error) {
	var inv *Invoice
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		var err error
		if inv, err = b.invoiceTx(ctx, t, id, true); err != nil {
			return err
		}
		if inv.Status != InvoiceOpen {
			return apperr.New(apperr.Conflict, "only an open invoice can be marked uncollectible").WithReason("invoice_" + inv.Status)
		}
		inv.Status, inv.UpdatedAt = InvoiceUncollectible, b.now()
		if _, err := t.NewUpdate().Model(inv).WherePK().Column("status", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("billing: marking %s uncollectible: %w", id, err)
		}
		t.Audit("billing.invoice.uncollectible", inv.AccountID, "invoice", inv.ID, map[string]any{"amount_due": inv.AmountDue()})
		return nil
	})
	return inv, err
}

// ManualLine is one line of a manual invoice.
type ManualLine struct {
	Description string `json:"description"`
	Quantity    int    `json:"quantity"`
	UnitAmount  int64  `json:"unit_amount"`
}

// ManualInvoiceInput creates a staff invoice.
type ManualInvoiceInput struct {
	Lines   []ManualLine `json:"lines"`
	DueDays int          `json:"due_days"`
	Memo    string       `json:"memo"`
	// Draft leaves the invoice unnumbered for IssueInvoice.
	Draft bool `json:"draft"`
}

// CreateManualInvoice bills an account for custom lines, in its currency
// and with its tax. Staff only. Errors: Invalid.
func (b *Billing) CreateManualInvoice(ctx context.Context, accountID string, in ManualInvoiceInput) (*Invoice, error) {
	var errs apperr.Fields
	if len(in.Lines) == 0 || len(in.Lines) > 100 {
		errs.Add("lines", "must have 1 to 100 lines")
	}
	for i, l := range in.Lines {
		if l.Description == "" || len(l.Description) > 500 {
			errs.Add(fmt.Sprintf("lines[%d].description", i), "is required (at most 500 characters)")
		}
		if l.Quantity < 1 || l.Quantity > 100000 {
			errs.Add(fmt.Sprintf("lines[%d].quantity", i), "must be from 1 to 100000")
		}
		if l.UnitAmount < 0 || l.UnitAmount > money.MaxAmount {
			errs.Add(fmt.Sprintf("lines[%d].unit_amount", i), "must be from 0 to %d minor units", money.MaxAmount)
		}
	}
	if in.DueDays < 0 || in.DueDays > 365 {
		errs.Add("due_days", "must be from 0 to 365")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	var d *draft
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		p, err := b.profileTx(ctx, t, accountID)
		if err != nil {
			return err
		}
		now := b.now()
		d = newDraft(accountID, ReasonManual, nil, p.Currency, now.AddDate(0, 0, in.DueDays), now)
		d.inv.Memo, d.field = in.Memo, "lines"
		for _, l := range in.Lines {
			d.add(LineCustom, l.Description, nil, l.Quantity, l.UnitAmount, nil, nil)
		}
		if in.Draft {
			rates, err := b.catalog.TaxRateMap(ctx, t)
			if err != nil {
				return err
			}
			d.price(p, taxFor(p, rates))
			if err := d.bounded(d.field, "the invoice's total"); err != nil {
				return err
			}
			if err := d.store(ctx, t); err != nil {
				return fmt.Errorf("billing: inserting draft invoice: %w", err)
			}
			t.Audit("billing.invoice.draft", accountID, "invoice", d.inv.ID, map[string]any{"total": d.inv.Total})
			return nil
		}
		if err := b.createInvoice(ctx, t, d, p); err != nil {
			return err
		}
		return b.afterIssue(ctx, t, d.inv)
	})
	if err != nil {
		return nil, err
	}
	return d.inv, nil
}

// IssueInvoice numbers a draft and opens it, with the tax it was priced
// with. Staff only. Errors: NotFound, Conflict.
func (b *Billing) IssueInvoice(ctx context.Context, id string) (*Invoice, error) {
	var inv *Invoice
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		var err error
		if inv, err = b.invoiceTx(ctx, t, id, true); err != nil {
			return err
		}
		if inv.Status != InvoiceDraft {
			return apperr.New(apperr.Conflict, "only a draft can be issued").WithReason("invoice_" + inv.Status)
		}
		num, err := takeNumbers(ctx, t, 1)
		if err != nil {
			return err
		}
		now := b.now()
		inv.Number, inv.Status, inv.IssuedAt, inv.UpdatedAt = &num, InvoiceOpen, &now, now
		if _, err := t.NewUpdate().Model(inv).WherePK().Column("number", "status", "issued_at", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("billing: issuing %s: %w", id, err)
		}
		t.Audit("billing.invoice.issue", inv.AccountID, "invoice", inv.ID, map[string]any{"number": num, "total": inv.Total})
		if err := b.runIssuedHooks(ctx, t, []*Invoice{inv}); err != nil {
			return err
		}
		return b.afterIssue(ctx, t, inv)
	})
	return inv, err
}

// afterIssue applies credit to a newly issued invoice and, when it is due
// now and still unpaid, queues a charge of the saved payment method. An
// invoice of nothing (a free plan, a full discount) is paid at once.
func (b *Billing) afterIssue(ctx context.Context, t *txn, inv *Invoice) error {
	if inv.Status == InvoiceOpen && inv.Total == 0 {
		return b.markPaid(ctx, t, inv)
	}
	if _, err := b.applyCredit(ctx, t, inv.AccountID, inv.Currency); err != nil {
		return err
	}
	fresh, err := b.invoiceTx(ctx, t, inv.ID, false)
	if err != nil {
		return err
	}
	*inv = *withLines(fresh, inv.Lines)
	if inv.Status == InvoiceOpen && inv.AmountDue() > 0 && !inv.DueAt.After(b.now()) {
		return b.queueCharge(ctx, t, inv)
	}
	return nil
}

func withLines(inv *Invoice, lines []InvoiceLine) *Invoice {
	inv.Lines = lines
	return inv
}

// invoiceRef names an invoice for people: its number, or its id as a
// draft.
func invoiceRef(inv *Invoice) string {
	if inv.Number != nil {
		return fmt.Sprintf("#%d", *inv.Number)
	}
	return "draft " + inv.ID
}
