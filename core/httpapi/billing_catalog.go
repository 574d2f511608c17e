package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/catalog"
)

// CatalogAPI is the HTTP adapter of core/catalog: the public catalog
// (plans, add-ons) and the staff catalog (plans, add-ons, coupons, tax
// rates).
type CatalogAPI struct {
	Catalog *catalog.Catalog
	// Reach counts the live services and customers on a plan (billing's
	// PlanReach): the facts the high-risk gate sees of a plan's update or
	// archival.
	Reach PlanReach
}

// PlanReach is what the catalog routes need of core/billing.
type PlanReach interface {
	PlanReach(ctx context.Context, planID string) (services, customers int64, err error)
}

// Routes registers the catalog routes (documented in openapi/20_billing.yaml).
func (m *CatalogAPI) Routes(s *Server) {
	support, admin := accounts.StaffSupport, accounts.StaffAdmin
	routes := []Route{
		// The public catalog.
		{Method: "GET", Path: "/api/v1/plans", Auth: Public, Handler: m.listPlans},
		{Method: "GET", Path: "/api/v1/plans/{plan}", Auth: Public, Handler: m.getPlan},
		{Method: "GET", Path: "/api/v1/addons", Auth: Public, Handler: m.listAddons},

		// Staff.
		{Method: "GET", Path: "/api/v1/admin/plans", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.adminListPlans},
		{Method: "POST", Path: "/api/v1/admin/plans", Auth: Staff, StaffRole: admin, Scope: "admin:write", Idempotent: true, HighRisk: &HighRisk{Action: "plans.create", TargetType: "plan"}, Handler: m.createPlan},
		{Method: "GET", Path: "/api/v1/admin/plans/{plan_id}", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.adminGetPlan},
		{Method: "PUT", Path: "/api/v1/admin/plans/{plan_id}", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "plans.update", TargetType: "plan", TargetVar: "plan_id", FactsFunc: m.planReach}, Handler: m.updatePlan},
		{Method: "DELETE", Path: "/api/v1/admin/plans/{plan_id}", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "plans.archive", TargetType: "plan", TargetVar: "plan_id", FactsFunc: m.planReach}, Handler: m.archivePlan},
		{Method: "GET", Path: "/api/v1/admin/addons", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.adminListAddons},
		{Method: "POST", Path: "/api/v1/admin/addons", Auth: Staff, StaffRole: admin, Scope: "admin:write", Idempotent: true, HighRisk: &HighRisk{Action: "addons.create", TargetType: "addon"}, Handler: m.createAddon},
		{Method: "PUT", Path: "/api/v1/admin/addons/{addon_id}", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "addons.update", TargetType: "addon", TargetVar: "addon_id"}, Handler: m.updateAddon},
		{Method: "DELETE", Path: "/api/v1/admin/addons/{addon_id}", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "addons.archive", TargetType: "addon", TargetVar: "addon_id"}, Handler: m.archiveAddon},
		{Method: "GET", Path: "/api/v1/admin/coupons", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.listCoupons},
		{Method: "POST", Path: "/api/v1/admin/coupons", Auth: Staff, StaffRole: admin, Scope: "admin:write", Idempotent: true, HighRisk: &HighRisk{Action: "coupons.create", TargetType: "coupon"}, Handler: m.createCoupon},
		{Method: "GET", Path: "/api/v1/admin/coupons/{coupon_id}", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.getCoupon},
		{Method: "PATCH", Path: "/api/v1/admin/coupons/{coupon_id}", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "coupons.update", TargetType: "coupon", TargetVar: "coupon_id"}, Handler: m.updateCoupon},
		{Method: "GET", Path: "/api/v1/admin/tax-rates", Auth: Staff, StaffRole: support, Scope: "admin:read", Handler: m.listTaxRates},
		{Method: "PUT", Path: "/api/v1/admin/tax-rates/{country}", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "tax_rates.set", TargetType: "tax_rate", TargetVar: "country"}, Handler: m.putTaxRate},
		{Method: "DELETE", Path: "/api/v1/admin/tax-rates/{country}", Auth: Staff, StaffRole: admin, Scope: "admin:write", HighRisk: &HighRisk{Action: "tax_rates.delete", TargetType: "tax_rate", TargetVar: "country"}, Handler: m.deleteTaxRate},
	}
	for _, rt := range routes {
		s.Handle(rt)
	}
}

func (m *CatalogAPI) listPlans(w http.ResponseWriter, r *http.Request) error {
	plans, err := m.Catalog.Plans(r.Context(), true)
	if err != nil {
		return err
	}
	out := make([]PlanView, len(plans))
	for i := range plans {
		out[i] = planView(&plans[i])
	}
	// The catalog is small: one page, in catalog order.
	return writeJSON(w, http.StatusOK, List[PlanView]{Data: out})
}

func (m *CatalogAPI) getPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := m.Catalog.Plan(r.Context(), mux.Vars(r)["plan"])
	if err != nil {
		return err
	}
	if !p.Active || p.AccountID != nil {
		// A private plan is its account's alone, not the public catalog's.
		return apperr.NotFoundf("no such plan")
	}
	return writeJSON(w, http.StatusOK, planView(p))
}

func (m *CatalogAPI) listAddons(w http.ResponseWriter, r *http.Request) error {
	return m.writeAddons(w, r, true)
}

func (m *CatalogAPI) adminListAddons(w http.ResponseWriter, r *http.Request) error {
	return m.writeAddons(w, r, false)
}

func (m *CatalogAPI) writeAddons(w http.ResponseWriter, r *http.Request, public bool) error {
	as, err := m.Catalog.Addons(r.Context(), public)
	if err != nil {
		return err
	}
	out := make([]AddonView, len(as))
	for i := range as {
		out[i] = addonView(&as[i], !public)
	}
	return writeJSON(w, http.StatusOK, List[AddonView]{Data: out})
}

func (m *CatalogAPI) adminListPlans(w http.ResponseWriter, r *http.Request) error {
	private, err := queryFlag(r, "private")
	if err != nil {
		return err
	}
	plans, err := m.Catalog.Plans(r.Context(), false)
	if err != nil {
		return err
	}
	out := make([]AdminPlanView, 0, len(plans))
	for i := range plans {
		if private != nil && *private != (plans[i].AccountID != nil) {
			continue
		}
		out = append(out, adminPlanView(&plans[i]))
	}
	return writeJSON(w, http.StatusOK, List[AdminPlanView]{Data: out})
}

func (m *CatalogAPI) adminGetPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := m.Catalog.Plan(r.Context(), mux.Vars(r)["plan_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, adminPlanView(p))
}

func (m *CatalogAPI) createPlan(w http.ResponseWriter, r *http.Request) error {
	var in catalog.PlanInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	p, err := m.Catalog.CreatePlan(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, adminPlanView(p))
}

func (m *CatalogAPI) updatePlan(w http.ResponseWriter, r *http.Request) error {
	var in catalog.PlanInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	p, err := m.Catalog.UpdatePlan(r.Context(), mux.Vars(r)["plan_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, adminPlanView(p))
}

func (m *CatalogAPI) archivePlan(w http.ResponseWriter, r *http.Request) error {
	if err := m.Catalog.ArchivePlan(r.Context(), mux.Vars(r)["plan_id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (m *CatalogAPI) createAddon(w http.ResponseWriter, r *http.Request) error {
	var in catalog.AddonInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	a, err := m.Catalog.CreateAddon(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, addonView(a, true))
}

func (m *CatalogAPI) updateAddon(w http.ResponseWriter, r *http.Request) error {
	var in catalog.AddonInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	a, err := m.Catalog.UpdateAddon(r.Context(), mux.Vars(r)["addon_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, addonView(a, true))
}

func (m *CatalogAPI) archiveAddon(w http.ResponseWriter, r *http.Request) error {
	if err := m.Catalog.ArchiveAddon(r.Context(), mux.Vars(r)["addon_id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (m *CatalogAPI) listCoupons(w http.ResponseWriter, r *http.Request) error {
	cs, err := m.Catalog.Coupons(r.Context())
	if err != nil {
		return err
	}
	out := make([]CouponView, len(cs))
	for i := range cs {
		out[i] = couponView(&cs[i])
	}
	return writeJSON(w, http.StatusOK, List[CouponView]{Data: out})
}

func (m *CatalogAPI) getCoupon(w http.ResponseWriter, r *http.Request) error {
	c, err := m.Catalog.Coupon(r.Context(), mux.Vars(r)["coupon_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, couponView(c))
}

func (m *CatalogAPI) createCoupon(w http.ResponseWriter, r *http.Request) error {
	var in catalog.CouponInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	c, err := m.Catalog.CreateCoupon(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, couponView(c))
}

func (m *CatalogAPI) updateCoupon(w http.ResponseWriter, r *http.Request) error {
	var in catalog.CouponPatch
	if err := Decode(r, &in); err != nil {
		return err
	}
	c, err := m.Catalog.UpdateCoupon(r.Context(), mux.Vars(r)["coupon_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, couponView(c))
}

func (m *CatalogAPI) listTaxRates(w http.ResponseWriter, r *http.Request) error {
	rs, err := m.Catalog.TaxRates(r.Context())
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []catalog.TaxRate{}
	}
	return writeJSON(w, http.StatusOK, List[catalog.TaxRate]{Data: rs})
}

func (m *CatalogAPI) putTaxRate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name    string `json:"name"`
		RatePPM int64  `json:"rate_ppm"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	rate, err := m.Catalog.PutTaxRate(r.Context(), strings.ToUpper(mux.Vars(r)["country"]), in.Name, in.RatePPM)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rate)
}

func (m *CatalogAPI) deleteTaxRate(w http.ResponseWriter, r *http.Request) error {
	if err := m.Catalog.DeleteTaxRate(r.Context(), mux.Vars(r)["country"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// planReach is the facts of a plan change: the live services on the plan
// and the customers holding them.
func (m *CatalogAPI) planReach(r *http.Request, _ []byte, a *approval.Action) error {
	svcs, custs, err := m.Reach.PlanReach(r.Context(), mux.Vars(r)["plan_id"])
	if err != nil {
		return err
	}
	a.ServicesAffected, a.CustomersAffected = svcs, custs
	return nil
}
