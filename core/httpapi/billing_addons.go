package httpapi

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/billing"
)

// ServiceAddonView is an add-on a service has.
type ServiceAddonView struct {
	AddonID   string `json:"addon_id"`
	Quantity  int    `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
	// NextQuantity is what the next term bills (lower while a removal
	// waits for the end of the term).
	NextQuantity int `json:"next_quantity"`
}

func serviceAddonViews(sas []billing.ServiceAddon) []ServiceAddonView {
	out := make([]ServiceAddonView, len(sas))
	for i, sa := range sas {
		out[i] = ServiceAddonView{AddonID: sa.AddonID, Quantity: sa.Quantity, UnitPrice: sa.UnitPrice, NextQuantity: sa.NextQuantity()}
	}
	return out
}

func (m *BillingAPI) listServiceAddons(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	s, err := m.Billing.Service(r.Context(), acc, mux.Vars(r)["service_id"])
	if err != nil {
		return err
	}
	sas, err := m.Billing.ServiceAddons(r.Context(), s.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"data": serviceAddonViews(sas)})
}

func (m *BillingAPI) addServiceAddon(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in billing.AddonAddInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	res, err := m.Billing.AddAddon(r.Context(), acc, mux.Vars(r)["service_id"], in)
	if err != nil {
		return err
	}
	return m.writeAddonResult(w, r, http.StatusCreated, res)
}

func (m *BillingAPI) removeServiceAddon(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in billing.AddonRemoveInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	v := mux.Vars(r)
	res, err := m.Billing.RemoveAddon(r.Context(), acc, v["service_id"], v["addon_id"], in)
	if err != nil {
		return err
	}
	return m.writeAddonResult(w, r, http.StatusOK, res)
}

func (m *BillingAPI) writeAddonResult(w http.ResponseWriter, r *http.Request, status int, res *billing.AddonResult) error {
	sv, err := m.serviceJSON(r.Context(), res.Service)
	if err != nil {
		return err
	}
	out := map[string]any{"service": sv, "addons": serviceAddonViews(res.Addons), "invoice": nil, "credit": res.Credit,
		"prorated": res.Prorated, "days_left": res.DaysLeft, "days_in_cycle": res.DaysInCycle}
	if res.Invoice != nil {
		out["invoice"] = invoiceView(res.Invoice)
	}
	return writeJSON(w, status, out)
}
