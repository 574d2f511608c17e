// Package billingtest makes the services, invoices and credit other
// packages' tests and benchmarks need (services in bulk with their terms,
// suspensions, invoices) without the order and provisioning flow that
// normally creates them (plans and add-ons come from catalogtest, the
// service records from servicestest). It is billing's own kit, so billing's
// tables are written here and nowhere else in other packages' tests.
// Imported by tests only.
package billingtest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/services/servicestest"
)

func id() string { return uuid.Must(uuid.NewV7()).String() }

// Services inserts n active services of the account on the plan, in
// batches, and returns their ids.
func Services(ctx context.Context, db *database.DB, accountID, planID string, n int) ([]string, error) {
	return ServicesOf(ctx, db, ServiceSpec{AccountID: accountID, PlanID: planID}, n)
}

// ServicesOf inserts n services as spec describes (labelled vps-0, vps-1,
// … when spec has no label), each with its terms, in batches, and returns
// their ids.
func ServicesOf(ctx context.Context, db *database.DB, spec ServiceSpec, n int) ([]string, error) {
	spec = spec.withDefaults()
	var ids []string
	err := db.Tx(ctx, func(ctx context.Context, _ bun.Tx) error {
		var err error
		if ids, err = servicestest.Records(ctx, db, spec.record(), n); err != nil {
			return err
		}
		for start := 0; start < len(ids); start += 500 {
			if err := insertTerms(ctx, db, ids[start:min(len(ids), start+500)], spec); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}

// SetServiceStatus changes a service's status (suspended, terminated, …),
// and its terms' in_term as billing keeps it.
func SetServiceStatus(ctx context.Context, db *database.DB, serviceID, status string) error {
	if err := servicestest.SetStatus(ctx, db, serviceID, status); err != nil {
		return err
	}
	return update(ctx, db, "UPDATE service_terms SET in_term = ? WHERE service_id = ?", billing.InTerm(status), serviceID)
}

// ServiceSpec describes a service Service inserts. Zero fields take the
// defaults: monthly, USD, price 1000, active, no label, no options or
// attributes, created now.
type ServiceSpec struct {
	AccountID  string
	PlanID     string
	Cycle      string // monthly, quarterly, annually, …
	Currency   string
	Price      int64
	Status     string
	Label      string
	Options    string // JSON, the options the customer chose
	Attributes string // JSON
	// PeriodStart and PeriodEnd are the paid term (none when nil),
	// AnchorDay its billing day.
	PeriodStart, PeriodEnd *time.Time
	AnchorDay              int
	CreatedAt              time.Time
}

// record is the record part of the spec (servicestest's).
func (spec ServiceSpec) record() servicestest.Spec {
	return servicestest.Spec{AccountID: spec.AccountID, PlanID: spec.PlanID, Status: spec.Status, Label: spec.Label,
		Options: spec.Options, Attributes: spec.Attributes, CreatedAt: spec.CreatedAt}
}

func (spec ServiceSpec) withDefaults() ServiceSpec {
	spec.Cycle = cmp.Or(spec.Cycle, "monthly")
	spec.Currency = cmp.Or(spec.Currency, "USD")
	spec.Status = cmp.Or(spec.Status, "active")
	if spec.Price == 0 {
		spec.Price = 1000
	}
	if spec.CreatedAt.IsZero() {
		spec.CreatedAt = time.Now().UTC()
	}
	return spec
}

// Service inserts one service as spec describes, with its terms, as
// provisioning would have left it, and returns its id.
func Service(ctx context.Context, db *database.DB, spec ServiceSpec) (string, error) {
	spec = spec.withDefaults()
	var sid string
	err := db.Tx(ctx, func(ctx context.Context, _ bun.Tx) error {
		var err error
		if sid, err = servicestest.Record(ctx, db, spec.record()); err != nil {
			return err
		}
		return insertTerms(ctx, db, []string{sid}, spec)
	})
	return sid, err
}

// insertTerms writes the billing terms row every service has, with the
// spec's cycle, price and paid period (no coupon, no scheduled change), as
// billing leaves a service of the spec's status.
func insertTerms(ctx context.Context, db *database.DB, serviceIDs []string, spec ServiceSpec) error {
	q := "INSERT INTO service_terms (service_id, cycle, currency, price, period_start, period_end, anchor_day, in_term) VALUES "
	args := make([]any, 0, 8*len(serviceIDs))
	for i, sid := range serviceIDs {
		if i > 0 {
			q += ", "
		}
		q += "(?, ?, ?, ?, ?, ?, ?, ?)"
		args = append(args, sid, spec.Cycle, spec.Currency, spec.Price, spec.PeriodStart, spec.PeriodEnd, spec.AnchorDay, billing.InTerm(spec.Status))
	}
	if _, err := db.Conn(ctx).NewRaw(q, args...).Exec(ctx); err != nil {
		return fmt.Errorf("billingtest: inserting the services' terms: %w", err)
	}
	return nil
}

// Suspend suspends the service for reason (non_payment, budget, …) at:
// its status and an active suspension (servicestest.Suspend) and its
// terms' in_term, as the status machine and billing leave them (without
// the plugin call). It returns the suspension's id.
func Suspend(ctx context.Context, db *database.DB, serviceID, reason string, at time.Time) (string, error) {
	var sid string
	err := db.Tx(ctx, func(ctx context.Context, _ bun.Tx) error {
		var err error
		if sid, err = servicestest.Suspend(ctx, db, serviceID, reason, at); err != nil {
			return err
		}
		return update(ctx, db, "UPDATE service_terms SET in_term = ? WHERE service_id = ?", true, serviceID)
	})
	if err != nil {
		return "", fmt.Errorf("billingtest: suspending %s: %w", serviceID, err)
	}
	return sid, nil
}

// ServiceAddon puts quantity units of the add-on on the service at
// unitPrice each, as ordering the add-on would.
//
// It writes in ctx's ambient transaction if there is one, as billing does.
func ServiceAddon(ctx context.Context, db *database.DB, serviceID, addonID string, quantity int, unitPrice int64) error {
	_, err := db.Conn(ctx).NewRaw("INSERT INTO service_addons (service_id, addon_id, quantity, unit_price) VALUES (?, ?, ?, ?)",
		serviceID, addonID, quantity, unitPrice).Exec(ctx)
	if err != nil {
		return fmt.Errorf("billingtest: adding an add-on to %s: %w", serviceID, err)
	}
	return nil
}

// FreeTier makes the service a free development service.
func FreeTier(ctx context.Context, db *database.DB, serviceID string) error {
	if err := servicestest.Development(ctx, db, serviceID); err != nil {
		return err
	}
	return update(ctx, db, "UPDATE service_terms SET price = 0 WHERE service_id = ?", serviceID)
}

// Pending makes the service an order awaiting provisioning: pending, with
// no paid term.
func Pending(ctx context.Context, db *database.DB, serviceID string) error {
	if err := servicestest.SetStatus(ctx, db, serviceID, "pending"); err != nil {
		return err
	}
	return update(ctx, db, "UPDATE service_terms SET period_start = NULL, period_end = NULL, in_term = ? WHERE service_id = ?", false, serviceID)
}

// CancelAtPeriodEnd marks the service to be cancelled when its paid term
// ends.
func CancelAtPeriodEnd(ctx context.Context, db *database.DB, serviceID string) error {
	return update(ctx, db, "UPDATE service_terms SET cancel_at_period_end = ? WHERE service_id = ?", true, serviceID)
}

// MoveService gives the service to another account.
func MoveService(ctx context.Context, db *database.DB, serviceID, accountID string) error {
	return servicestest.Move(ctx, db, serviceID, accountID)
}

// ChangePlan moves the service to the plan, as a completed plan change
// leaves it (no invoice, no proration).
func ChangePlan(ctx context.Context, db *database.DB, serviceID, planID string) error {
	return servicestest.ChangePlan(ctx, db, serviceID, planID)
}

// SetServiceOptions replaces the options (JSON) the customer chose for the
// service.
func SetServiceOptions(ctx context.Context, db *database.DB, serviceID, options string) error {
	return servicestest.SetOptions(ctx, db, serviceID, options)
}

// SetServiceName replaces the service's label and attributes (JSON), what
// notices name it by.
func SetServiceName(ctx context.Context, db *database.DB, serviceID, label, attributes string) error {
	return servicestest.SetName(ctx, db, serviceID, label, attributes)
}

// update runs a change of billing's rows in ctx's ambient transaction if
// there is one.
func update(ctx context.Context, db *database.DB, query string, args ...any) error {
	if _, err := db.Conn(ctx).NewRaw(query, args...).Exec(ctx); err != nil {
		return fmt.Errorf("billingtest: %w", err)
	}
	return nil
}

// OpenInvoice issues an open upgrade invoice of total in currency to the
// account for the service, due at, and returns its id.
func OpenInvoice(ctx context.Context, db *database.DB, accountID, serviceID string, total int64, currency string, at time.Time) (string, error) {
	return Invoice(ctx, db, InvoiceSpec{
		AccountID: accountID, Status: "open", Reason: "upgrade", ServiceID: serviceID, PeriodStart: &at,
		Currency: currency, Subtotal: total, Total: total, DueAt: at, CreatedAt: at,
	})
}

// InvoiceSpec describes an invoice Invoice inserts, with its lines. Zero
// fields take the defaults: a random number, reason manual, USD, due and
// created now, no period, service or issue date.
type InvoiceSpec struct {
	AccountID       string
	Number          int64
	Status          string // draft, open, paid, void
	Reason          string
	ServiceID       string
	PeriodStart     *time.Time
	Currency        string
	Subtotal, Total int64
	DueAt           time.Time
	IssuedAt        *time.Time
	CreatedAt       time.Time
	Lines           []InvoiceLine
}

// InvoiceLine is a plan line of an invoice.
type InvoiceLine struct {
	Description string // "Plan" when empty
	ServiceID   string
	ProjectID   string // "" for none
	Amount, Tax int64
}

// Invoice inserts the invoice spec describes and its lines, and returns
// its id.
func Invoice(ctx context.Context, db *database.DB, spec InvoiceSpec) (string, error) {
	spec.Reason = cmp.Or(spec.Reason, "manual")
	spec.Currency = cmp.Or(spec.Currency, "USD")
	now := time.Now().UTC()
	if spec.CreatedAt.IsZero() {
		spec.CreatedAt = now
	}
	if spec.DueAt.IsZero() {
		spec.DueAt = now
	}
	if spec.Number == 0 {
		spec.Number = rand.Int64N(1 << 40)
	}
	iid := id()
	err := db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewRaw(`INSERT INTO invoices (id, account_id, number, status, reason, service_id, period_start, currency, subtotal, total,
			due_at, issued_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			iid, spec.AccountID, spec.Number, spec.Status, spec.Reason, nullable(spec.ServiceID), spec.PeriodStart, spec.Currency,
			spec.Subtotal, spec.Total, spec.DueAt, spec.IssuedAt, spec.CreatedAt, spec.CreatedAt).Exec(ctx)
		if err != nil {
			return err
		}
		for i, l := range spec.Lines {
			_, err := tx.NewRaw(`INSERT INTO invoice_lines (id, invoice_id, position, kind, description, service_id, unit_amount, amount, tax, project_id)
				VALUES (?, ?, ?, 'plan', ?, ?, ?, ?, ?, ?)`, id(), iid, i+1, cmp.Or(l.Description, "Plan"), nullable(l.ServiceID),
				l.Amount, l.Amount, l.Tax, nullable(l.ProjectID)).Exec(ctx)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("billingtest: inserting an invoice: %w", err)
	}
	return iid, nil
}

// nullable is s, or NULL when s is empty.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
