package httpapi

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/money"
)

// projectSummary authorizes the path's project through core/projects (the
// one check: another account's project is 404) and returns its billing
// summary.
func (m *BillingAPI) projectSummary(r *http.Request) (*billing.ProjectSummary, error) {
	if m.Projects == nil {
		return nil, apperr.NotFoundf("no such project")
	}
	pid := mux.Vars(r)["project_id"]
	if _, err := m.Projects.Project(r.Context(), actorOf(r), pid); err != nil {
		return nil, err
	}
	ids, _, err := m.Projects.ServiceScope(r.Context(), actorOf(r), pid)
	if err != nil {
		return nil, err
	}
	return m.Billing.ProjectSummary(r.Context(), accountOf(r), pid, ids)
}

func (m *BillingAPI) projectBilling(w http.ResponseWriter, r *http.Request) error {
	sum, err := m.projectSummary(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sum)
}

// projectBillingCSV writes the summary as CSV: one row per service of the
// spend, a spend total, one row per renewal, one per cycle, a renewals
// total; amounts as decimal strings in the summary's currency.
func (m *BillingAPI) projectBillingCSV(w http.ResponseWriter, r *http.Request) error {
	sum, err := m.projectSummary(r)
	if err != nil {
		return err
	}
	cur := sum.Currency
	amount := func(v int64) string { return money.Format(v, cur) }
	rows := [][]string{{"section", "month", "service_id", "service", "cycle", "renews_on", "amount", "currency"}}
	for _, s := range sum.Spend {
		rows = append(rows, []string{"spend", sum.Month, s.ServiceID, csvText(s.Name), "", "", amount(s.Amount), string(cur)})
	}
	rows = append(rows, []string{"spend_total", sum.Month, "", "", "", "", amount(sum.SpendTotal), string(cur)})
	for _, rn := range sum.Renewals {
		rows = append(rows, []string{"renewal", "", rn.ServiceID, csvText(rn.Name), string(rn.Cycle), rn.RenewsOn.UTC().Format("2006-01-02"), amount(rn.Amount), string(cur)})
	}
	for _, c := range sum.RenewalsByCycle {
		rows = append(rows, []string{"renewal_cycle", "", "", "", string(c.Cycle), "", amount(c.Amount), string(cur)})
	}
	rows = append(rows, []string{"renewals_total", "", "", "", "", "", amount(sum.RenewalsTotal), string(cur)})
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="project-%s-billing-%s.csv"`, sum.ProjectID, sum.Month))
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("writing the project's billing CSV: %w", err)
	}
	return nil
}

// csvText keeps a customer's text from being read as a formula by a
// spreadsheet: a cell starting with = + - @ (or a tab or carriage return)
// gets a leading apostrophe. encoding/csv quotes the rest.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
