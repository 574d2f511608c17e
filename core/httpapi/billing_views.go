package httpapi

import (
	"encoding/json"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/money"
)

// The API shapes of billing objects. Money is always an integer number of
// minor units next to its ISO 4217 currency.

// PlanView is a plan as the public catalog shows it.
type PlanView struct {
	ID                 string               `json:"id"`
	Slug               string               `json:"slug"`
	Name               string               `json:"name"`
	Description        string               `json:"description"`
	ServiceType        string               `json:"service_type"`
	Tier               string               `json:"tier"`
	Specs              json.RawMessage      `json:"specs"`
	Currency           money.Currency       `json:"currency"`
	MonthlyPrice       int64                `json:"monthly_price"`
	Prices             []catalog.CyclePrice `json:"prices"`
	FreeTier           bool                 `json:"free_tier"`
	FreeTierPerAccount int                  `json:"free_tier_per_account"`
	SortOrder          int                  `json:"sort_order"`
	// OrderOptions are the provisioner options a customer may choose when
	// ordering: key → the values offered ([] = any the plugin accepts).
	OrderOptions map[string][]string `json:"order_options"`
}

// AdminPlanView adds what staff manage.
type AdminPlanView struct {
	PlanView
	QuarterlyPrice *int64            `json:"quarterly_price"`
	AnnualPrice    *int64            `json:"annual_price"`
	BiennialPrice  *int64            `json:"biennial_price"`
	Plugin         string            `json:"plugin"`
	PluginOptions  map[string]string `json:"plugin_options"`
	Active         bool              `json:"active"`
	// AccountID is the account a private plan belongs to (an enterprise
	// quote's custom plan); nil for a public plan.
	AccountID *string   `json:"account_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func planView(p *catalog.Plan) PlanView {
	prices := p.Prices()
	if prices == nil {
		prices = []catalog.CyclePrice{}
	}
	return PlanView{
		ID: p.ID, Slug: p.Slug, Name: p.Name, Description: p.Description, ServiceType: p.ServiceType, Tier: p.Tier,
		Specs: json.RawMessage(p.Specs), Currency: p.Currency, MonthlyPrice: p.MonthlyPrice, Prices: prices,
		FreeTier: p.FreeTier, FreeTierPerAccount: p.FreeTierPerAccount, SortOrder: p.SortOrder, OrderOptions: p.Offered(),
	}
}

func adminPlanView(p *catalog.Plan) AdminPlanView {
	return AdminPlanView{
		PlanView: planView(p), QuarterlyPrice: p.QuarterlyPrice, AnnualPrice: p.AnnualPrice, BiennialPrice: p.BiennialPrice,
		Plugin: p.Plugin, PluginOptions: p.Options(), Active: p.Active, AccountID: p.AccountID, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

// AddonView is an add-on.
type AddonView struct {
	ID           string               `json:"id"`
	Slug         string               `json:"slug"`
	Name         string               `json:"name"`
	Description  string               `json:"description"`
	Currency     money.Currency       `json:"currency"`
	MonthlyPrice int64                `json:"monthly_price"`
	Prices       []catalog.CyclePrice `json:"prices"`
	PlanIDs      []string             `json:"plan_ids"`
	MaxQuantity  int                  `json:"max_quantity"`
	Active       bool                 `json:"active"`
	// PluginOptions is shown to staff only.
	PluginOptions map[string]string `json:"plugin_options,omitempty"`
}

func addonView(a *catalog.Addon, staff bool) AddonView {
	v := AddonView{ID: a.ID, Slug: a.Slug, Name: a.Name, Description: a.Description, Currency: a.Currency,
		MonthlyPrice: a.MonthlyPrice, PlanIDs: a.Plans(), MaxQuantity: a.MaxQuantity, Active: a.Active}
	if v.PlanIDs == nil {
		v.PlanIDs = []string{}
	}
	for _, c := range money.Cycles() {
		price := a.Price(c)
		v.Prices = append(v.Prices, catalog.CyclePrice{Cycle: c, Price: price, Saving: money.Saving(a.MonthlyPrice, c, price), SavingBP: money.SavingBP(a.MonthlyPrice, c, price)})
	}
	if staff {
		v.PluginOptions = a.Options()
	}
	return v
}

// CouponView is a coupon (staff).
type CouponView struct {
	ID              string         `json:"id"`
	Code            string         `json:"code"`
	Description     string         `json:"description"`
	Kind            string         `json:"kind"`
	PercentBP       int64          `json:"percent_bp"`
	Amount          int64          `json:"amount"`
	Currency        money.Currency `json:"currency"`
	Cycles          *int           `json:"cycles"`
	MaxUses         *int           `json:"max_uses"`
	Uses            int            `json:"uses"`
	PerAccountLimit *int           `json:"per_account_limit"`
	PlanIDs         []string       `json:"plan_ids"`
	ExpiresAt       *time.Time     `json:"expires_at"`
	Active          bool           `json:"active"`
	CreatedAt       time.Time      `json:"created_at"`
}

func couponView(c *catalog.Coupon) CouponView {
	v := CouponView{ID: c.ID, Code: c.Code, Description: c.Description, Kind: c.Kind, PercentBP: c.PercentBP, Amount: c.Amount,
		Currency: c.Currency, Cycles: c.Cycles, MaxUses: c.MaxUses, Uses: c.Uses, PerAccountLimit: c.PerAccountLimit,
		ExpiresAt: c.ExpiresAt, Active: c.Active, CreatedAt: c.CreatedAt}
	_ = json.Unmarshal([]byte(c.PlanIDs), &v.PlanIDs)
	if v.PlanIDs == nil {
		v.PlanIDs = []string{}
	}
	return v
}

// ProfileView is an account's billing profile.
type ProfileView struct {
	AccountID              string         `json:"account_id"`
	Currency               money.Currency `json:"currency"`
	Country                string         `json:"country"`
	TaxExempt              bool           `json:"tax_exempt"`
	TaxID                  string         `json:"tax_id"`
	DefaultPaymentMethodID *string        `json:"default_payment_method_id"`
}

func profileView(p *billing.Profile) ProfileView {
	return ProfileView{AccountID: p.AccountID, Currency: p.Currency, Country: p.Country, TaxExempt: p.TaxExempt, TaxID: p.TaxID,
		DefaultPaymentMethodID: p.DefaultPaymentMethodID}
}

// PendingChangeView is a change scheduled for the end of the term.
type PendingChangeView struct {
	PlanID string      `json:"plan_id"`
	Cycle  money.Cycle `json:"cycle"`
	Price  int64       `json:"price"`
}

// ServiceView is a service.
type ServiceView struct {
	ID          string            `json:"id"`
	AccountID   string            `json:"account_id"`
	PlanID      string            `json:"plan_id"`
	Cycle       money.Cycle       `json:"cycle"`
	Currency    money.Currency    `json:"currency"`
	Price       int64             `json:"price"`
	Status      string            `json:"status"`
	Suspensions []string          `json:"suspensions"`
	Label       string            `json:"label"`
	Options     map[string]string `json:"options"`
	PeriodStart *time.Time        `json:"period_start"`
	PeriodEnd   *time.Time        `json:"period_end"`
	// PendingChange is a downgrade or cycle change due at the end of the
	// term.
	PendingChange     *PendingChangeView `json:"pending_change"`
	CancelAtPeriodEnd bool               `json:"cancel_at_period_end"`
	ExternalID        string             `json:"external_id"`
	Attributes        map[string]string  `json:"attributes"`
	// BackendState is the state the provisioner last confirmed (""
	// before it was created, installing while it is not ready yet): it
	// differs from Status while a change is still to be made there, and
	// LastError says why when a call failed.
	BackendState string `json:"backend_state"`
	// ProvisionAttempts and LastError make a provisioning problem visible
	// (status provisioning while retrying, failed when given up).
	ProvisionAttempts int        `json:"provision_attempts"`
	LastError         string     `json:"last_error"`
	ActivatedAt       *time.Time `json:"activated_at"`
	SuspendedAt       *time.Time `json:"suspended_at"`
	EndedAt           *time.Time `json:"ended_at"`
	CreatedAt         time.Time  `json:"created_at"`

	// Environment is production, or development for a free-tier service.
	Environment string `json:"environment"`
}

func serviceView(s *billing.Service, suspensions []services.Suspension) ServiceView {
	v := ServiceView{
		ID: s.ID, AccountID: s.AccountID, PlanID: s.PlanID, Cycle: s.Terms.Cycle, Currency: s.Terms.Currency, Price: s.Terms.Price, Status: s.Status,
		Suspensions: []string{}, Environment: s.Environment, Label: s.Label, PeriodStart: s.Terms.PeriodStart, PeriodEnd: s.Terms.PeriodEnd, CancelAtPeriodEnd: s.Terms.CancelAtPeriodEnd,
		ExternalID: s.ExternalID, BackendState: s.BackendState, ProvisionAttempts: s.ProvisionAttempts, LastError: s.LastError, ActivatedAt: s.ActivatedAt,
		SuspendedAt: s.SuspendedAt, EndedAt: s.EndedAt, CreatedAt: s.CreatedAt, Options: map[string]string{}, Attributes: map[string]string{},
	}
	_ = json.Unmarshal([]byte(s.Options), &v.Options)
	_ = json.Unmarshal([]byte(s.Attributes), &v.Attributes)
	for _, su := range suspensions {
		if su.LiftedAt == nil {
			v.Suspensions = append(v.Suspensions, su.Reason)
		}
	}
	if t := s.Terms; t.PendingPlanID != nil && t.PendingCycle != nil && t.PendingPrice != nil {
		v.PendingChange = &PendingChangeView{PlanID: *t.PendingPlanID, Cycle: *t.PendingCycle, Price: *t.PendingPrice}
	}
	return v
}

// InvoiceLineView is one line of an invoice.
type InvoiceLineView struct {
	Position    int        `json:"position"`
	Kind        string     `json:"kind"`
	Description string     `json:"description"`
	ServiceID   *string    `json:"service_id"`
	Quantity    int        `json:"quantity"`
	UnitAmount  int64      `json:"unit_amount"`
	Amount      int64      `json:"amount"`
	Tax         int64      `json:"tax"`
	PeriodStart *time.Time `json:"period_start"`
	PeriodEnd   *time.Time `json:"period_end"`
	// ProjectID is the project the line's service was in when the invoice
	// was written.
	ProjectID *string `json:"project_id"`
}

// InvoiceView is an invoice; Lines only in single-invoice responses.
type InvoiceView struct {
	ID          string            `json:"id"`
	AccountID   string            `json:"account_id"`
	Number      *int64            `json:"number"`
	Status      string            `json:"status"`
	Reason      string            `json:"reason"`
	ServiceID   *string           `json:"service_id"`
	PeriodStart *time.Time        `json:"period_start"`
	PeriodEnd   *time.Time        `json:"period_end"`
	Currency    money.Currency    `json:"currency"`
	Subtotal    int64             `json:"subtotal"`
	Discount    int64             `json:"discount"`
	Tax         int64             `json:"tax"`
	Total       int64             `json:"total"`
	AmountPaid  int64             `json:"amount_paid"`
	AmountDue   int64             `json:"amount_due"`
	TaxCountry  string            `json:"tax_country"`
	TaxRatePPM  int64             `json:"tax_rate_ppm"`
	TaxExempt   bool              `json:"tax_exempt"`
	Memo        string            `json:"memo"`
	DueAt       time.Time         `json:"due_at"`
	IssuedAt    *time.Time        `json:"issued_at"`
	PaidAt      *time.Time        `json:"paid_at"`
	VoidedAt    *time.Time        `json:"voided_at"`
	VoidReason  string            `json:"void_reason"`
	CreatedAt   time.Time         `json:"created_at"`
	Lines       []InvoiceLineView `json:"lines,omitempty"`
}

func invoiceView(i *billing.Invoice) InvoiceView {
	v := InvoiceView{
		ID: i.ID, AccountID: i.AccountID, Number: i.Number, Status: i.Status, Reason: i.Reason, ServiceID: i.ServiceID,
		PeriodStart: i.PeriodStart, PeriodEnd: i.PeriodEnd, Currency: i.Currency, Subtotal: i.Subtotal, Discount: i.Discount,
		Tax: i.Tax, Total: i.Total, AmountPaid: i.AmountPaid, AmountDue: i.AmountDue(), TaxCountry: i.TaxCountry,
		TaxRatePPM: i.TaxRatePPM, TaxExempt: i.TaxExempt, Memo: i.Memo, DueAt: i.DueAt, IssuedAt: i.IssuedAt, PaidAt: i.PaidAt,
		VoidedAt: i.VoidedAt, VoidReason: i.VoidReason, CreatedAt: i.CreatedAt,
	}
	for _, l := range i.Lines {
		v.Lines = append(v.Lines, InvoiceLineView{Position: l.Position, Kind: l.Kind, Description: l.Description, ServiceID: l.ServiceID,
			Quantity: l.Quantity, UnitAmount: l.UnitAmount, Amount: l.Amount, Tax: l.Tax, PeriodStart: l.PeriodStart, PeriodEnd: l.PeriodEnd, ProjectID: l.ProjectID})
	}
	return v
}

// PlanChangeView is a plan or cycle change.
type PlanChangeView struct {
	ID          string      `json:"id"`
	ServiceID   string      `json:"service_id"`
	Kind        string      `json:"kind"`
	Timing      string      `json:"timing"`
	FromPlanID  string      `json:"from_plan_id"`
	ToPlanID    string      `json:"to_plan_id"`
	FromCycle   money.Cycle `json:"from_cycle"`
	ToCycle     money.Cycle `json:"to_cycle"`
	FromPrice   int64       `json:"from_price"`
	ToPrice     int64       `json:"to_price"`
	Prorated    int64       `json:"prorated"`
	DaysLeft    int         `json:"days_left"`
	DaysInCycle int         `json:"days_in_cycle"`
	InvoiceID   *string     `json:"invoice_id"`
	Status      string      `json:"status"`
	EffectiveAt time.Time   `json:"effective_at"`
}

func planChangeView(c *billing.PlanChange) PlanChangeView {
	return PlanChangeView{ID: c.ID, ServiceID: c.ServiceID, Kind: c.Kind, Timing: c.Timing, FromPlanID: c.FromPlanID, ToPlanID: c.ToPlanID,
		FromCycle: c.FromCycle, ToCycle: c.ToCycle, FromPrice: c.FromPrice, ToPrice: c.ToPrice, Prorated: c.Prorated,
		DaysLeft: c.DaysLeft, DaysInCycle: c.DaysInCycle, InvoiceID: c.InvoiceID, Status: c.Status, EffectiveAt: c.EffectiveAt}
}

// RunStepView is one step of a billing run.
type RunStepView struct {
	Step       string     `json:"step"`
	Status     string     `json:"status"`
	Attempts   int        `json:"attempts"`
	Processed  int64      `json:"processed"`
	Error      string     `json:"error"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// RunView is a billing run.
type RunView struct {
	ID          string        `json:"id"`
	AsOf        time.Time     `json:"as_of"`
	TriggeredBy string        `json:"triggered_by"`
	CreatedAt   time.Time     `json:"created_at"`
	Steps       []RunStepView `json:"steps"`
}

func runView(r *billing.Run) RunView {
	v := RunView{ID: r.ID, AsOf: r.AsOf, TriggeredBy: r.TriggeredBy, CreatedAt: r.CreatedAt, Steps: []RunStepView{}}
	for _, s := range r.Steps {
		v.Steps = append(v.Steps, RunStepView{Step: s.Step, Status: s.Status, Attempts: s.Attempts, Processed: s.Processed, Error: s.Error,
			StartedAt: s.StartedAt, FinishedAt: s.FinishedAt})
	}
	return v
}
