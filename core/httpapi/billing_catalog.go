package httpapi

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
)

func (m *BillingAPI) listPlans(w http.ResponseWriter, r *http.Request) error {
	plans, err := m.Billing.Plans(r.Context(), true)
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

func (m *BillingAPI) getPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := m.Billing.Plan(r.Context(), mux.Vars(r)["plan"])
	if err != nil {
		return err
	}
	if !p.Active || p.AccountID != nil {
		// A private plan is its account's alone, not the public catalog's.
		return apperr.NotFoundf("no such plan")
	}
	return writeJSON(w, http.StatusOK, planView(p))
}

func (m *BillingAPI) listAddons(w http.ResponseWriter, r *http.Request) error {
	return m.writeAddons(w, r, true)
}

func (m *BillingAPI) adminListAddons(w http.ResponseWriter, r *http.Request) error {
	return m.writeAddons(w, r, false)
}

func (m *BillingAPI) writeAddons(w http.ResponseWriter, r *http.Request, public bool) error {
	as, err := m.Billing.Addons(r.Context(), public)
	if err != nil {
		return err
	}
	out := make([]AddonView, len(as))
	for i := range as {
		out[i] = addonView(&as[i], !public)
	}
	return writeJSON(w, http.StatusOK, List[AddonView]{Data: out})
}

func (m *BillingAPI) adminListPlans(w http.ResponseWriter, r *http.Request) error {
	private, err := queryFlag(r, "private")
	if err != nil {
		return err
	}
	plans, err := m.Billing.Plans(r.Context(), false)
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

func (m *BillingAPI) adminGetPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := m.Billing.Plan(r.Context(), mux.Vars(r)["plan_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, adminPlanView(p))
}

func (m *BillingAPI) createPlan(w http.ResponseWriter, r *http.Request) error {
	var in billing.PlanInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	p, err := m.Billing.CreatePlan(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, adminPlanView(p))
}

func (m *BillingAPI) updatePlan(w http.ResponseWriter, r *http.Request) error {
	var in billing.PlanInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	p, err := m.Billing.UpdatePlan(r.Context(), mux.Vars(r)["plan_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, adminPlanView(p))
}

func (m *BillingAPI) archivePlan(w http.ResponseWriter, r *http.Request) error {
	if err := m.Billing.ArchivePlan(r.Context(), mux.Vars(r)["plan_id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (m *BillingAPI) createAddon(w http.ResponseWriter, r *http.Request) error {
	var in billing.AddonInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	a, err := m.Billing.CreateAddon(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, addonView(a, true))
}

func (m *BillingAPI) updateAddon(w http.ResponseWriter, r *http.Request) error {
	var in billing.AddonInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	a, err := m.Billing.UpdateAddon(r.Context(), mux.Vars(r)["addon_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, addonView(a, true))
}

func (m *BillingAPI) archiveAddon(w http.ResponseWriter, r *http.Request) error {
	if err := m.Billing.ArchiveAddon(r.Context(), mux.Vars(r)["addon_id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (m *BillingAPI) listCoupons(w http.ResponseWriter, r *http.Request) error {
	cs, err := m.Billing.Coupons(r.Context())
	if err != nil {
		return err
	}
	out := make([]CouponView, len(cs))
	for i := range cs {
		out[i] = couponView(&cs[i])
	}
	return writeJSON(w, http.StatusOK, List[CouponView]{Data: out})
}

func (m *BillingAPI) getCoupon(w http.ResponseWriter, r *http.Request) error {
	c, err := m.Billing.Coupon(r.Context(), mux.Vars(r)["coupon_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, couponView(c))
}

func (m *BillingAPI) createCoupon(w http.ResponseWriter, r *http.Request) error {
	var in billing.CouponInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	c, err := m.Billing.CreateCoupon(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, couponView(c))
}

func (m *BillingAPI) updateCoupon(w http.ResponseWriter, r *http.Request) error {
	var in billing.CouponPatch
	if err := Decode(r, &in); err != nil {
		return err
	}
	c, err := m.Billing.UpdateCoupon(r.Context(), mux.Vars(r)["coupon_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, couponView(c))
}

func (m *BillingAPI) listTaxRates(w http.ResponseWriter, r *http.Request) error {
	rs, err := m.Billing.TaxRates(r.Context())
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []billing.TaxRate{}
	}
	return writeJSON(w, http.StatusOK, List[billing.TaxRate]{Data: rs})
}

func (m *BillingAPI) putTaxRate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name    string `json:"name"`
		RatePPM int64  `json:"rate_ppm"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	rate, err := m.Billing.PutTaxRate(r.Context(), strings.ToUpper(mux.Vars(r)["country"]), in.Name, in.RatePPM)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rate)
}

func (m *BillingAPI) deleteTaxRate(w http.ResponseWriter, r *http.Request) error {
	if err := m.Billing.DeleteTaxRate(r.Context(), mux.Vars(r)["country"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
