package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
)

// Built-in templates. Per type: TYPE.txt (text/template) defines
// "subject" (email subject and in-app title), "message" (in-app and Discord
// text) and "body" (the email's text part); TYPE.html (html/template) is
// the email's HTML content. layout.txt and layout.html wrap every email.
// Any of these files in notifications.templates_dir replaces the built-in
// file of the same name.
//
//go:embed templates/*
var builtinTemplates embed.FS

// unsubscribePlaceholder stands for the recipient's unsubscribe URL in a
// rendered marketing email. Bodies are rendered once per event (so that an
// announcement to 100,000 users is one INSERT … SELECT); the per-user URL is
// substituted when the message is delivered.
// It is a valid https URL under the reserved .invalid domain, so
// html/template leaves it alone and a missed substitution leads nowhere.
const unsubscribePlaceholder = "https://unsubscribe.invalid/ezscale"

// view is what templates see.
type view struct {
	Type     Type
	Category Category
	// Title is the rendered subject (available to message and bodies).
	Title string
	Data  map[string]any
	// Link is absolute, or empty.
	Link      string
	Product   string
	PublicURL string
	// UnsubscribeURL is set for marketing types only.
	UnsubscribeURL string
}

// rendered is one event's text in every form.
type rendered struct {
	Subject, Message, Text, HTML string
}

type typeTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// templateSet holds the parsed templates of every type.
type templateSet struct {
	byType map[Type]*typeTemplates
}

var funcs = map[string]any{"money": formatMoney}

// builtinSet is the built-in templates, parsed and checked once per
// process: every Service without an override directory shares them, as
// they are only ever executed (which templates allow concurrently). Tests
// build a notification center per test, and parsing and checking every
// type each time was a quarter of core/billing's test CPU (see
// docs/benchmarks.md, "Parsing the notification templates once").
var builtinSet = sync.OnceValues(func() (*templateSet, error) { return parseTemplates("") })

// loadTemplates returns the templates of a notification center: the
// built-in ones, or with dir's files taking precedence.
func loadTemplates(dir string) (*templateSet, error) {
	if dir == "" {
		return builtinSet()
	}
	return parseTemplates(dir)
}

// parseTemplates parses the built-in templates with dir's files taking
// precedence, and renders every type with its sample data (missing keys
// are errors then) so that a broken override stops the start, not a
// billing run.
func parseTemplates(dir string) (*templateSet, error) {
	read := func(name string) (string, error) {
		if dir != "" {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil {
				return string(b), nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("notify: reading template %s: %w", filepath.Join(dir, name), err)
			}
		}
		b, err := builtinTemplates.ReadFile("templates/" + name)
		if err != nil {
			return "", fmt.Errorf("notify: built-in template %s: %w", name, err)
		}
		return string(b), nil
	}
	if dir != "" {
		if err := checkOverrideNames(dir); err != nil {
			return nil, err
		}
	}
	layoutTxt, err := read("layout.txt")
	if err != nil {
		return nil, err
	}
	layoutHTML, err := read("layout.html")
	if err != nil {
		return nil, err
	}
	baseText, err := texttemplate.New("layout.txt").Funcs(funcs).Parse(layoutTxt)
	if err != nil {
		return nil, fmt.Errorf("notify: template layout.txt: %w", err)
	}
	baseHTML, err := htmltemplate.New("layout.html").Funcs(funcs).Parse(layoutHTML)
	if err != nil {
		return nil, fmt.Errorf("notify: template layout.html: %w", err)
	}
	set := &templateSet{byType: map[Type]*typeTemplates{}}
	for _, info := range registry {
		name := string(info.Type)
		src, err := read(name + ".txt")
		if err != nil {
			return nil, err
		}
		tt := texttemplate.Must(baseText.Clone())
		if _, err := tt.New(name + ".txt").Parse(src); err != nil {
			return nil, fmt.Errorf("notify: template %s.txt: %w", name, err)
		}
		for _, def := range []string{"subject", "message", "body"} {
			if tt.Lookup(def) == nil {
				return nil, fmt.Errorf("notify: template %s.txt does not define %q", name, def)
			}
		}
		src, err = read(name + ".html")
		if err != nil {
			return nil, err
		}
		ht, err := htmltemplate.Must(baseHTML.Clone()).New("content").Parse(src)
		if err != nil {
			return nil, fmt.Errorf("notify: template %s.html: %w", name, err)
		}
		tmpl := &typeTemplates{text: tt, html: ht}
		if err := tmpl.check(info); err != nil {
			return nil, err
		}
		set.byType[info.Type] = tmpl
	}
	return set, nil
}

// checkOverrideNames refuses files in the override directory that replace
// nothing: a typo would otherwise be silently ignored.
func checkOverrideNames(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("notify: templates_dir: %w", err)
	}
	known := map[string]bool{"layout.txt": true, "layout.html": true}
	for _, info := range registry {
		known[string(info.Type)+".txt"] = true
		known[string(info.Type)+".html"] = true
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !known[e.Name()] {
			return fmt.Errorf("notify: templates_dir: %s is not a template name (TYPE.txt, TYPE.html, layout.txt or layout.html)", filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// check renders the type with its sample data, refusing missing keys.
func (t *typeTemplates) check(info *TypeInfo) error {
	strict := &typeTemplates{
		text: texttemplate.Must(t.text.Clone()).Option("missingkey=error"),
		html: htmltemplate.Must(t.html.Clone()).Option("missingkey=error"),
	}
	v := &view{Type: info.Type, Category: info.Category, Data: info.Sample, Link: "https://billing.example.com/x",
		Product: "EZSCALE", PublicURL: "https://billing.example.com"}
	if info.Marketing {
		v.UnsubscribeURL = unsubscribePlaceholder
	}
	if _, err := strict.render(v); err != nil {
		return fmt.Errorf("notify: templates of %s with the sample data: %w", info.Type, err)
	}
	return nil
}

func (t *typeTemplates) render(v *view) (*rendered, error) {
	var out rendered
	var buf bytes.Buffer
	exec := func(name string) (string, error) {
		buf.Reset()
		if err := t.text.ExecuteTemplate(&buf, name, v); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	subject, err := exec("subject")
	if err != nil {
		return nil, err
	}
	out.Subject = oneLine(subject, 200)
	v.Title = out.Subject
	msg, err := exec("message")
	if err != nil {
		return nil, err
	}
	out.Message = strings.TrimSpace(msg)
	if out.Text, err = exec("layout.txt"); err != nil {
		return nil, err
	}
	buf.Reset()
	if err := t.html.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return nil, err
	}
	out.HTML = buf.String()
	return &out, nil
}

// oneLine collapses whitespace and caps the length (in runes).
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

// zeroDecimals and threeDecimals are the ISO 4217 currencies whose minor
// unit is not the cent.
var (
	zeroDecimals  = map[string]bool{"BIF": true, "CLP": true, "DJF": true, "GNF": true, "ISK": true, "JPY": true, "KMF": true, "KRW": true, "PYG": true, "RWF": true, "UGX": true, "UYI": true, "VND": true, "VUV": true, "XAF": true, "XOF": true, "XPF": true}
	threeDecimals = map[string]bool{"BHD": true, "IQD": true, "JOD": true, "KWD": true, "LYD": true, "OMR": true, "TND": true}
)

// formatMoney renders minor units in a currency: money 2847 "USD" →
// "28.47 USD". Integer arithmetic only.
func formatMoney(amount, currency any) (string, error) {
	n, err := toInt64(amount)
	if err != nil {
		return "", fmt.Errorf("money: %w", err)
	}
	cur := strings.ToUpper(fmt.Sprint(currency))
	digits := 2
	switch {
	case zeroDecimals[cur]:
		digits = 0
	case threeDecimals[cur]:
		digits = 3
	}
	sign := ""
	if n < 0 {
		sign = "-"
		if n == math.MinInt64 {
			return "", errors.New("money: amount out of range")
		}
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	if digits > 0 {
		for len(s) <= digits {
			s = "0" + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	return sign + s + " " + cur, nil
}

func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case uint32:
		return int64(x), nil
	case interface{ Int64() (int64, error) }:
		return x.Int64()
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("%v (%T) is not an amount in minor units", v, v)
}
