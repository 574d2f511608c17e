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
