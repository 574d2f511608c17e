package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFormatMoney(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		amount   any
		currency string
		want     string
	}{
		{int64(2847), "USD", "28.47 USD"},
		{int64(5), "eur", "0.05 EUR"},
		{-1999, "USD", "-19.99 USD"},
		{int64(1200), "JPY", "1200 JPY"},
		{int64(1234), "KWD", "1.234 KWD"},
		{int64(0), "USD", "0.00 USD"},
	} {
		got, err := formatMoney(tc.amount, tc.currency)
		if err != nil || got != tc.want {
			t.Errorf("money %v %s = %q, %v; want %q", tc.amount, tc.currency, got, err, tc.want)
		}
	}
	if _, err := formatMoney(12.5, "USD"); err == nil {
		t.Error("a float amount was accepted")
	}
}

// TestBuiltinTemplatesRender: every type renders its sample in every form.
func TestBuiltinTemplatesRender(t *testing.T) {
	t.Parallel()
	set, err := loadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range registry {
		v := &view{Type: info.Type, Category: info.Category, Data: info.Sample, Product: "EZSCALE", PublicURL: "https://b.example"}
		r, err := set.byType[info.Type].render(v)
		if err != nil {
			t.Fatalf("%s: %v", info.Type, err)
		}
		for name, s := range map[string]string{"subject": r.Subject, "message": r.Message, "text": r.Text, "html": r.HTML} {
			if strings.TrimSpace(s) == "" || strings.Contains(s, "<no value>") {
				t.Errorf("%s %s: %q", info.Type, name, s)
			}
		}
		if !strings.HasPrefix(r.HTML, "<!DOCTYPE html>") {
			t.Errorf("%s html is not wrapped in the layout", info.Type)
		}
	}
}

// TestTemplatesEscapeData: data is escaped in HTML, never in text.
func TestTemplatesEscapeData(t *testing.T) {
	t.Parallel()
	set, err := loadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	v := &view{Type: ServiceSuspended, Data: map[string]any{"service_name": `<script>x</script>`}, Product: "P", PublicURL: "https://b.example"}
	r, err := set.byType[ServiceSuspended].render(v)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") || !strings.Contains(r.HTML, "&lt;script&gt;") {
		t.Errorf("html not escaped: %s", r.HTML)
	}
	if !strings.Contains(r.Text, "<script>x</script>") {
		t.Errorf("text was escaped: %s", r.Text)
	}
}

// TestTemplateOverrides: a file in the directory replaces the built-in one
// of the same name and no other; a broken or misnamed override stops the
// start.
func TestTemplateOverrides(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("invoice.paid.txt", `{{define "subject"}}Paid: {{.Data.number}}{{end}}{{define "message"}}Thanks!{{end}}{{define "body"}}Custom {{money .Data.total .Data.currency}}{{end}}`)
	write("layout.html", `<!DOCTYPE html><main>{{template "content" .}}</main>`)
	set, err := loadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	v := &view{Type: InvoicePaid, Data: invoiceSample, Product: "P", PublicURL: "https://b.example"}
	r, err := set.byType[InvoicePaid].render(v)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{r.Subject, r.Message, strings.SplitN(r.Text, "\n", 2)[0], r.HTML}
	want := []string{"Paid: INV-2026-00042", "Thanks!", "Custom 28.47 USD",
		"<!DOCTYPE html><main><p>Hello,</p>\n<p>thank you: invoice <strong>INV-2026-00042</strong> for <strong>28.47 USD</strong> is paid.</p>\n</main>"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("overridden invoice.paid (-want +got):\n%s", diff)
	}
	// Other types keep their built-in text.
	r, err = set.byType[InvoiceIssued].render(&view{Type: InvoiceIssued, Data: invoiceSample, Product: "P"})
	if err != nil || r.Subject != "Invoice INV-2026-00042 for 28.47 USD" {
		t.Errorf("invoice.issued: %q %v", r.Subject, err)
	}

	for name, body := range map[string]string{
		"invoice.issued.txt":  `{{define "subject"}}{{.Data.nubmer}}{{end}}{{define "message"}}x{{end}}{{define "body"}}x{{end}}`,
		"invoice.issued.html": `{{if}}`,
		"invoce.issued.txt":   `x`,
		"announcement.txt":    `{{define "subject"}}x{{end}}`,
	} {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadTemplates(bad); err == nil {
			t.Errorf("override %s %q was accepted", name, body)
		}
	}
}

// TestTemplateVariants: types whose text depends on their data say the
// right thing in each case.
func TestTemplateVariants(t *testing.T) {
	t.Parallel()
	set, err := loadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	budget := map[string]any{"percent": int64(90), "spent": int64(9000), "limit": int64(10000), "currency": "EUR", "reset_on": "2026-04-01",
		"limit_reached": false, "hard_stop": true}
	services := []map[string]any{{"id": "svc-1", "name": "VPS 4 GB (web1.example.com)", "type": "vps"}}
	for _, tc := range []struct {
		name string
		typ  Type
		data map[string]any
		// subject is the whole subject; text a part of the email's text.
		subject, text string
	}{
		{"threshold", BudgetAlert, budget, "You have used 90% of your monthly budget", "90% of your monthly budget of 100.00 EUR"},
		{"rule", BudgetAlert, merge(budget, map[string]any{"rule": "spend_percent >= 80"}), "Budget alert: your rule matched", "Your budget rule matched: spend_percent >= 80"},
		{"limit with hard stop", BudgetAlert, merge(budget, map[string]any{"percent": int64(100), "spent": int64(10000), "limit_reached": true}),
			"Budget limit reached", "The hard stop suspends your services"},
		{"stopped", BudgetStopped, map[string]any{"percent": int64(100), "limit": int64(10000), "currency": "EUR", "reset_on": "2026-04-01", "services": services},
			"Services suspended: budget limit reached", "- VPS 4 GB (web1.example.com), vps\n"},
		{"resumed by override", BudgetResumed, map[string]any{"reason": "override", "reset_on": "2026-04-01", "services": services},
			"Services resumed", "Your payment overrides the budget's hard stop until it resets on 2026-04-01."},
		{"resumed below", BudgetResumed, map[string]any{"reason": "below", "services": services}, "Services resumed", "Your spend is below the budget again"},
		{"restarted", RecoveryRestarted, map[string]any{"service_name": "web", "check_type": "http", "error": "timeout"},
			"web was restarted by auto-recovery", "and was restarted by auto-recovery."},
		{"restart failed", RecoveryRestarted, map[string]any{"service_name": "web", "check_type": "http", "error": "timeout", "restart_error": "unavailable"},
			"web is down and could not be restarted", "but that failed: unavailable."},
	} {
		r, err := set.byType[tc.typ].render(&view{Type: tc.typ, Data: tc.data, Product: "P", PublicURL: "https://b.example"})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r.Subject != tc.subject || !strings.Contains(r.Text, tc.text) || strings.Contains(r.Text+r.HTML, "<no value>") ||
			strings.Contains(r.Text+r.HTML, "svc-1") {
			t.Errorf("%s: subject %q, text:\n%s\nwant subject %q and text containing %q", tc.name, r.Subject, r.Text, tc.subject, tc.text)
		}
	}
}
