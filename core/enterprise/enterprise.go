package enterprise

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/notify"
)

// Statuses of a request.
const (
	StatusSubmitted = "submitted"
	StatusQuoted    = "quoted"
	StatusAccepted  = "accepted"
	StatusDeclined  = "declined"
	// StatusExpired is a quote past its expiry not answered (computed on
	// read; staff may quote again).
	StatusExpired = "expired"
)

// Request is a customer's enterprise request with its quote and answer.
type Request struct {
	bun.BaseModel `bun:"table:enterprise_requests"`

	ID           string `bun:"id,pk" json:"id"`
	AccountID    string `bun:"account_id" json:"account_id"`
	Status       string `bun:"status" json:"status"`
	Nodes        int    `bun:"nodes" json:"nodes"`
	LoadBalancer bool   `bun:"load_balancer" json:"load_balancer"`
	Failover     bool   `bun:"failover" json:"failover"`
	Region       string `bun:"region" json:"region"`
	Notes        string `bun:"notes" json:"notes"`
	SubmittedBy  string `bun:"submitted_by" json:"submitted_by"`

	BasePlanID     *string    `bun:"base_plan_id" json:"base_plan_id"`
	Currency       string     `bun:"currency" json:"currency"`
	MonthlyPrice   int64      `bun:"monthly_price" json:"monthly_price"`
	SetupFee       int64      `bun:"setup_fee" json:"setup_fee"`
	Terms          string     `bun:"terms" json:"terms"`
	QuotedBy       string     `bun:"quoted_by" json:"quoted_by"`
	QuotedAt       *time.Time `bun:"quoted_at" json:"quoted_at"`
	QuoteExpiresAt *time.Time `bun:"quote_expires_at" json:"quote_expires_at"`

	AnsweredBy     string     `bun:"answered_by" json:"answered_by"`
	AnsweredAt     *time.Time `bun:"answered_at" json:"answered_at"`
	DeclineReason  string     `bun:"decline_reason" json:"decline_reason"`
	PlanID         *string    `bun:"plan_id" json:"plan_id"`
	SetupInvoiceID string     `bun:"setup_invoice_id" json:"setup_invoice_id"`
	CreatedAt      time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt      time.Time  `bun:"updated_at" json:"updated_at"`
}

// State is the request's status at now: a quote past its expiry is
// expired.
func (r *Request) State(now time.Time) string {
	if r.Status == StatusQuoted && r.QuoteExpiresAt != nil && !now.Before(*r.QuoteExpiresAt) {
		return StatusExpired
	}
	return r.Status
}

// Catalog is what enterprise needs of the catalog: the base plan of a
// quote and the account's private plan made from it on acceptance.
type Catalog interface {
	Plan(ctx context.Context, idOrSlug string) (*catalog.Plan, error)
	CreatePrivatePlanTx(ctx context.Context, tx bun.Tx, in catalog.PrivatePlanInput) (*catalog.Plan, error)
}

// Billing is what enterprise needs of billing.
type Billing interface {
	Profile(ctx context.Context, accountID string) (*billing.Profile, error)
	CreateManualInvoice(ctx context.Context, accountID string, in billing.ManualInvoiceInput) (*billing.Invoice, error)
	AttachPrivatePlan(ctx context.Context, accountID, serviceID, planID string) (*billing.Service, error)
}

// Notifier tells the account, in the caller's transaction.
type Notifier interface {
	Notify(ctx context.Context, tx bun.Tx, ev notify.Event) error
}

// Staff lists the staff told of new requests and accepted quotes
// (core/accounts).
type Staff interface {
	// StaffIDs lists the enabled staff users with one of roles.
	StaffIDs(ctx context.Context, roles ...string) ([]string, error)
}

// Options tune the service.
type Options struct {
	// Now is the clock (nil: the wall clock, UTC).
	Now func() time.Time
	// Staff, when set, are told (enterprise.staff) when a request arrives
	// and when a quote is accepted: the staff admins and owners, who quote
	// and attach services.
	Staff Staff
}

// Service is enterprise requests.
type Service struct {
	db       *database.DB
	billing  Billing
	catalog  Catalog
	notifier Notifier
	opts     Options
}

// New returns the service.
func New(db *database.DB, b Billing, c Catalog, n Notifier, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	return &Service{db: db, billing: b, catalog: c, notifier: n, opts: opts}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// Actor is the caller as the route table admitted them to an account.
type Actor struct {
	AccountID string
	UserID    string
}

// SubmitInput is a customer's request.
type SubmitInput struct {
	Nodes        int    `json:"nodes"`
	LoadBalancer bool   `json:"load_balancer"`
	Failover     bool   `json:"failover"`
	Region       string `json:"region"`
	Notes        string `json:"notes"`
}

// Submit records a request of a's account. Errors: Invalid (nodes 1-1000,
// region required, notes at most 5000 characters).
func (s *Service) Submit(ctx context.Context, a Actor, in SubmitInput) (*Request, error) {
	var errs apperr.Fields
	if in.Nodes < 1 || in.Nodes > 1000 {
		errs.Add("nodes", "must be from 1 to 1000")
	}
	in.Region = strings.TrimSpace(in.Region)
	if in.Region == "" || utf8.RuneCountInString(in.Region) > 100 {
		errs.Add("region", "is required (at most 100 characters)")
	}
	if utf8.RuneCountInString(in.Notes) > 5000 {
		errs.Add("notes", "must be at most 5000 characters")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	r := &Request{ID: uuid.Must(uuid.NewV7()).String(), AccountID: a.AccountID, Status: StatusSubmitted, Nodes: in.Nodes,
		LoadBalancer: in.LoadBalancer, Failover: in.Failover, Region: in.Region, Notes: in.Notes, SubmittedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(r).Exec(ctx); err != nil {
			return fmt.Errorf("enterprise: recording request: %w", err)
		}
		if err := s.tell(ctx, tx, r, now); err != nil {
			return err
		}
		if err := s.tellStaff(ctx, tx, r, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, "enterprise.submit", r, map[string]any{"nodes": r.Nodes, "load_balancer": r.LoadBalancer, "failover": r.Failover, "region": r.Region})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// List returns a's account's requests, newest first, after the cursor.
func (s *Service) List(ctx context.Context, a Actor, after string, limit int) ([]Request, error) {
	return s.page(ctx, s.db.Conn(ctx).NewSelect().Model((*Request)(nil)).Where("account_id = ?", a.AccountID), after, limit)
}

// Queue returns every account's requests for staff; status filters
// (submitted: waiting for a quote).
func (s *Service) Queue(ctx context.Context, status, after string, limit int) ([]Request, error) {
	q := s.db.Conn(ctx).NewSelect().Model((*Request)(nil))
	switch status {
	case "":
	case StatusSubmitted, StatusAccepted, StatusDeclined:
		q = q.Where("status = ?", status)
	case StatusQuoted:
		q = q.Where("status = ?", status).Where("quote_expires_at > ?", s.now())
	case StatusExpired:
		q = q.Where("status = ?", StatusQuoted).Where("quote_expires_at <= ?", s.now())
	default:
		return nil, apperr.Field("status", "must be submitted, quoted, accepted, declined or expired")
	}
	return s.page(ctx, q, after, limit)
}

func (s *Service) page(ctx context.Context, q *bun.SelectQuery, after string, limit int) ([]Request, error) {
	if after != "" {
		q = q.Where("id < ?", after)
	}
	if limit <= 0 {
		limit = 50
	}
	var out []Request
	if err := q.Order("id DESC").Limit(int64(limit)).Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("enterprise: listing requests: %w", err)
	}
	now := s.now()
	for i := range out {
		out[i].Status = out[i].State(now)
	}
	return out, nil
}

// Get returns a request of a's account (accountID "" for staff: any).
// Errors: NotFound.
func (s *Service) Get(ctx context.Context, accountID, id string) (*Request, error) {
	r, err := s.load(ctx, s.db.Conn(ctx), accountID, id, false)
	if err != nil {
		return nil, err
	}
	r.Status = r.State(s.now())
	return r, nil
}

// load is the one place that decides who sees a request: its account
// (staff through the staff routes, accountID ""); another account's is
// NotFound.
func (s *Service) load(ctx context.Context, db bun.IDB, accountID, id string, lock bool) (*Request, error) {
	r := &Request{}
	q := db.NewSelect().Model(r).Where("id = ?", id)
	if accountID != "" {
		q = q.Where("account_id = ?", accountID)
	}
	if lock && !s.db.IsSQLite() {
		q = q.For("UPDATE")
	}
	err := q.Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such enterprise request")
	}
	if err != nil {
		return nil, fmt.Errorf("enterprise: loading request %s: %w", id, err)
	}
	return r, nil
}

func wrongState(r *Request, now time.Time, action string) error {
	st := r.State(now)
	return apperr.New(apperr.Conflict, "a request that is %s cannot be %s", st, action).WithReason("request_" + st)
}

// QuoteInput is staff's quote.
type QuoteInput struct {
	// BasePlanID is the plan whose provisioner, service type, specs and
	// options the custom plan keeps (id or slug).
	BasePlanID   string    `json:"base_plan_id"`
	MonthlyPrice int64     `json:"monthly_price"`
	SetupFee     int64     `json:"setup_fee"`
	Terms        string    `json:"terms"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// Quote quotes a submitted request (or quotes again one whose quote is
// open or expired), as staff. Errors: NotFound, Invalid (base_plan_id,
// monthly_price, setup_fee, terms, expires_at in the future),
// Unprocessable (base_plan_id: free-tier or private plan; currency_mismatch
// with the account), Conflict request_<state>.
func (s *Service) Quote(ctx context.Context, staffUserID, id string, in QuoteInput) (*Request, error) {
	now := s.now()
	var errs apperr.Fields
	if in.MonthlyPrice < 0 || in.MonthlyPrice > money.MaxAmount {
		errs.Add("monthly_price", "must be from 0 to %d minor units", money.MaxAmount)
	}
	if in.SetupFee < 0 || in.SetupFee > money.MaxAmount {
		errs.Add("setup_fee", "must be from 0 to %d minor units", money.MaxAmount)
	}
	if utf8.RuneCountInString(in.Terms) > 20000 {
		errs.Add("terms", "must be at most 20000 characters")
	}
	if !in.ExpiresAt.After(now) {
		errs.Add("expires_at", "must be in the future")
	}
	if in.BasePlanID == "" {
		errs.Add("base_plan_id", "is required (a plan id or slug)")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	base, err := s.catalog.Plan(ctx, in.BasePlanID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, apperr.Field("base_plan_id", "no such plan")
	}
	if err != nil {
		return nil, err
	}
	if base.FreeTier || base.AccountID != nil {
		return nil, refuse("base_plan_id", "base_plan_unavailable", "the base plan must be a public, paid plan")
	}
	var out *Request
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.load(ctx, tx, "", id, true)
		if err != nil {
			return err
		}
		switch r.State(now) {
		case StatusSubmitted, StatusQuoted, StatusExpired:
		default:
			return wrongState(r, now, "quoted")
		}
		p, err := s.billing.Profile(ctx, r.AccountID)
		if err != nil {
			return err
		}
		if p.Currency != base.Currency {
			return refuse("base_plan_id", "currency_mismatch", "the account is billed in %s and the plan is priced in %s", p.Currency, base.Currency)
		}
		exp := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		r.Status, r.BasePlanID, r.Currency, r.MonthlyPrice, r.SetupFee, r.Terms = StatusQuoted, &base.ID, string(base.Currency), in.MonthlyPrice, in.SetupFee, in.Terms
		r.QuotedBy, r.QuotedAt, r.QuoteExpiresAt, r.UpdatedAt = staffUserID, &now, &exp, now
		if _, err := tx.NewUpdate().Model(r).WherePK().Column("status", "base_plan_id", "currency", "monthly_price", "setup_fee", "terms",
			"quoted_by", "quoted_at", "quote_expires_at", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("enterprise: quoting %s: %w", r.ID, err)
		}
		out = r
		if err := s.tell(ctx, tx, r, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, "enterprise.quote", r, map[string]any{"base_plan_id": base.ID, "monthly_price": r.MonthlyPrice,
			"setup_fee": r.SetupFee, "currency": r.Currency, "expires_at": exp})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func refuse(field, reason, format string, args ...any) error {
	e := apperr.New(apperr.Unprocessable, format, args...).WithReason(reason)
	e.Fields = []apperr.FieldError{{Field: field, Message: e.Message}}
	return e
}

// Accept accepts the quote of a's request before it expires: in one
// transaction the account's private plan is created at the quoted monthly
// price and the setup fee invoiced (a one-off line, due now), the
// acceptance recorded with who and when. Errors: NotFound, Conflict
// request_<state> (not quoted, expired, answered).
func (s *Service) Accept(ctx context.Context, a Actor, id string) (*Request, error) {
	var out *Request
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.load(ctx, tx, a.AccountID, id, true)
		if err != nil {
			return err
		}
		now := s.now()
		if r.State(now) != StatusQuoted {
			return wrongState(r, now, "accepted")
		}
		plan, err := s.catalog.CreatePrivatePlanTx(ctx, tx, catalog.PrivatePlanInput{
			AccountID: r.AccountID, BasePlanID: *r.BasePlanID, Slug: "enterprise-" + r.ID,
			Name: fmt.Sprintf("Enterprise (%d nodes, %s)", r.Nodes, r.Region), MonthlyPrice: r.MonthlyPrice,
		})
		if err != nil {
			return err
		}
		r.PlanID = &plan.ID
		if r.SetupFee > 0 {
			inv, err := s.billing.CreateManualInvoice(ctx, r.AccountID, billing.ManualInvoiceInput{
				Lines: []billing.ManualLine{{Description: fmt.Sprintf("Enterprise setup (%d nodes, %s)", r.Nodes, r.Region), Quantity: 1, UnitAmount: r.SetupFee}},
				Memo:  "Enterprise request " + r.ID,
			})
			if err != nil {
				return err
			}
			r.SetupInvoiceID = inv.ID
		}
		r.Status, r.AnsweredBy, r.AnsweredAt, r.UpdatedAt = StatusAccepted, a.UserID, &now, now
		if _, err := tx.NewUpdate().Model(r).WherePK().Column("status", "answered_by", "answered_at", "plan_id", "setup_invoice_id", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("enterprise: accepting %s: %w", r.ID, err)
		}
		out = r
		if err := s.tell(ctx, tx, r, now); err != nil {
			return err
		}
		if err := s.tellStaff(ctx, tx, r, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, "enterprise.accept", r, map[string]any{"plan_id": plan.ID, "setup_invoice_id": r.SetupInvoiceID, "monthly_price": r.MonthlyPrice})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeclineInput is the customer's reason.
type DeclineInput struct {
	Reason string `json:"reason"`
}

// Decline declines the quote of a's request. Errors: NotFound, Invalid
// (reason), Conflict request_<state>.
func (s *Service) Decline(ctx context.Context, a Actor, id string, in DeclineInput) (*Request, error) {
	if utf8.RuneCountInString(in.Reason) > 2000 {
		return nil, apperr.Field("reason", "must be at most 2000 characters")
	}
	var out *Request
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.load(ctx, tx, a.AccountID, id, true)
		if err != nil {
			return err
		}
		now := s.now()
		if r.State(now) != StatusQuoted {
			return wrongState(r, now, "declined")
		}
		r.Status, r.AnsweredBy, r.AnsweredAt, r.DeclineReason, r.UpdatedAt = StatusDeclined, a.UserID, &now, in.Reason, now
		if _, err := tx.NewUpdate().Model(r).WherePK().Column("status", "answered_by", "answered_at", "decline_reason", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("enterprise: declining %s: %w", r.ID, err)
		}
		out = r
		if err := s.tell(ctx, tx, r, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, "enterprise.decline", r, map[string]any{"reason": in.Reason})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AttachInput names a service staff provisioned by hand.
type AttachInput struct {
	ServiceID string `json:"service_id"`
}

// Attach puts a service of the request's account on its accepted quote's
// private plan, billed at the quoted price (billing.AttachPrivatePlan), as
// staff. Errors: NotFound, Conflict request_<state> (not accepted), and
// billing's refusals.
func (s *Service) Attach(ctx context.Context, id string, in AttachInput) (*billing.Service, error) {
	if in.ServiceID == "" {
		return nil, apperr.Field("service_id", "is required")
	}
	var out *billing.Service
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.load(ctx, tx, "", id, true)
		if err != nil {
			return err
		}
		now := s.now()
		if r.Status != StatusAccepted || r.PlanID == nil {
			return wrongState(r, now, "given services")
		}
		if out, err = s.billing.AttachPrivatePlan(ctx, r.AccountID, in.ServiceID, *r.PlanID); err != nil {
			return err
		}
		ev := s.event(r, now)
		ev.Data["status"], ev.Data["service_id"] = "service_attached", in.ServiceID
		ev.Key = fmt.Sprintf("enterprise.updated:%s:attached:%s", r.ID, in.ServiceID)
		if s.notifier != nil {
			if err := s.notifier.Notify(ctx, tx, ev); err != nil {
				return fmt.Errorf("enterprise: notifying: %w", err)
			}
		}
		return s.audit(ctx, tx, "enterprise.attach", r, map[string]any{"service_id": in.ServiceID, "plan_id": *r.PlanID})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) event(r *Request, now time.Time) notify.Event {
	typ := notify.EnterpriseUpdated
	if r.Status == StatusQuoted {
		typ = notify.EnterpriseQuoted
	}
	data := map[string]any{"request_id": r.ID, "status": r.State(now), "nodes": r.Nodes, "region": r.Region,
		"monthly_price": r.MonthlyPrice, "setup_fee": r.SetupFee, "currency": r.Currency, "expires_at": ""}
	if r.QuoteExpiresAt != nil {
		data["expires_at"] = r.QuoteExpiresAt.Format(time.RFC3339)
	}
	return notify.Event{Type: typ, AccountID: r.AccountID, Link: "/enterprise/" + r.ID, Data: data,
		Key: fmt.Sprintf("%s:%s:%s:%d", typ, r.ID, r.State(now), r.UpdatedAt.UnixMicro())}
}

// tell notifies the request's account of its new state.
func (s *Service) tell(ctx context.Context, tx bun.Tx, r *Request, now time.Time) error {
	if s.notifier == nil {
		return nil
	}
	if err := s.notifier.Notify(ctx, tx, s.event(r, now)); err != nil {
		return fmt.Errorf("enterprise: notifying: %w", err)
	}
	return nil
}

// tellStaff notifies the staff admins and owners of a request that
// arrived or a quote that was accepted (enterprise.staff, linked to the
// staff console's enterprise queue).
func (s *Service) tellStaff(ctx context.Context, tx bun.Tx, r *Request, now time.Time) error {
	if s.notifier == nil || s.opts.Staff == nil {
		return nil
	}
	ids, err := s.opts.Staff.StaffIDs(ctx, "admin", "owner")
	if err != nil || len(ids) == 0 {
		return err
	}
	ev := s.event(r, now)
	ev.Type, ev.AccountID, ev.UserIDs, ev.Link = notify.EnterpriseStaff, "", ids, "/staff/enterprise"
	ev.Data["account_id"] = r.AccountID
	ev.Key = fmt.Sprintf("%s:%s:%s", notify.EnterpriseStaff, r.ID, r.State(now))
	if err := s.notifier.Notify(ctx, tx, ev); err != nil {
		return fmt.Errorf("enterprise: notifying staff: %w", err)
	}
	return nil
}

func (s *Service) audit(ctx context.Context, tx bun.Tx, action string, r *Request, changes map[string]any) error {
	_, err := audit.Append(ctx, tx, audit.Event{Action: action, AccountID: r.AccountID, TargetType: "enterprise_request", TargetID: r.ID, Changes: changes})
	return err
}
