package sdk

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ConfigSpec is a plugin's config declared as a Go struct: the schema
// Describe reports is derived from the struct's tags, and Decode fills the
// struct from the operator's config block. Declare it once, in a package
// variable, so the schema and the code that reads the config cannot drift
// apart:
//
//	type settings struct {
//		APIURL  string        `config:"api_url,required,url" doc:"panel root, e.g. https://panel.example.com"`
//		Token   string        `config:"api_token,required,secret" doc:"API token"`
//		Timeout time.Duration `config:"timeout,positive" default:"30s" doc:"per API request"`
//		IPv4    int64         `config:"ipv4" default:"1" min:"0" max:"32" doc:"addresses per new server"`
//		TLS     string        `config:"tls" default:"mandatory" oneof:"none mandatory"`
//		Region  *string       `config:"region" doc:"optional; nil when not set"`
//	}
//
//	var config = sdk.ConfigOf[settings]()
//
//	func (p *Plugin) Describe() sdk.Description {
//		return sdk.Description{Name: "mypanel", Version: "1.0.0", Schema: config.Schema()}
//	}
//
//	func (p *Plugin) Configure(ctx context.Context, cfg sdk.Config) error {
//		s, diags := config.Decode(cfg)
//		if diags.HasErrors() {
//			return diags
//		}
//		…
//	}
//
// Tags:
//
//   - config:"name[,required][,secret][,url][,positive]": the field's name
//     in the config block (required: every exported field names one, or
//     "-" to leave it out). required: the operator must set it. secret:
//     never logged or shown by the core; may not have a default. url: an
//     absolute http or https URL. positive: a number or duration above 0.
//   - doc:"…": the description shown to operators.
//   - default:"…": the value when the field is not set, in the field's
//     type ("30s" for a duration, "true", "8080").
//   - oneof:"a b c": the values a string may take, space-separated.
//   - min:"…", max:"…": inclusive bounds of a number or duration.
//
// Field types: string, bool, the integer types, float32/float64,
// time.Duration, []string, and a pointer to any but the list, which is nil
// when the operator did not set the field (and it has no default).
//
// Decode refuses unknown fields, missing required fields, wrong types and
// values outside the tags' limits, each as a Diagnostic naming the field
// (the core adds where it was set). When T (or *T) has a method
// Validate() Diagnostics, Decode calls it last, for rules across fields.
//
// A broken declaration (an unsupported type, a default of the wrong type,
// a secret with a default) makes Schema report an error that Serve refuses
// to start with.
type ConfigSpec[T any] struct {
	schema *Schema
	fields []typedField
}

// typedField is one struct field bound to one config field.
type typedField struct {
	Field
	index    []int
	ptr      bool
	url      bool
	positive bool
	min, max *float64 // numbers and durations (in nanoseconds)
}

// ConfigValidation is implemented by a typed config struct (T or *T) that
// checks rules across its fields; ConfigSpec.Decode calls it after
// decoding, and its diagnostics name fields by their config names.
type ConfigValidation interface {
	Validate() Diagnostics
}

var durationType = reflect.TypeFor[time.Duration]()

// ConfigOf derives the config declaration of T, a struct type. See
// ConfigSpec.
func ConfigOf[T any]() *ConfigSpec[T] {
	c := &ConfigSpec[T]{schema: NewSchema()}
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		c.schema.err = fmt.Errorf("config: ConfigOf needs a struct type, not %s", t)
		return c
	}
	for sf := range t.Fields() {
		f, ok, err := typedFieldOf(sf)
		if err != nil {
			c.schema.err = fmt.Errorf("config: %s.%s: %w", t.Name(), sf.Name, err)
			return c
		}
		if ok {
			c.fields = append(c.fields, f)
			c.schema.fields = append(c.schema.fields, f.Field)
		}
	}
	return c
}

func typedFieldOf(sf reflect.StructField) (typedField, bool, error) {
	tag, tagged := sf.Tag.Lookup("config")
	if !sf.IsExported() {
		if tagged {
			return typedField{}, false, errors.New("an unexported field cannot be set from the config")
		}
		return typedField{}, false, nil
	}
	if !tagged {
		return typedField{}, false, errors.New(`the field has no config tag: name its config field (config:"name") or leave it out (config:"-")`)
	}
	if tag == "-" {
		return typedField{}, false, nil
	}
	parts := strings.Split(tag, ",")
	f := typedField{index: sf.Index}
	f.Name = parts[0]
	if f.Name == "" {
		return f, false, errors.New("the config tag has no name")
	}
	for _, opt := range parts[1:] {
		switch opt {
		case "required":
			f.Required = true
		case "secret":
			f.Secret = true
		case "url":
			f.url = true
		case "positive":
			f.positive = true
		default:
			return f, false, fmt.Errorf("unknown config tag option %q (known: required, secret, url, positive)", opt)
		}
	}
	f.Description = sf.Tag.Get("doc")
	t := sf.Type
	if t.Kind() == reflect.Pointer {
		f.ptr, t = true, t.Elem()
	}
	switch {
	case t == durationType:
		f.Type = TypeDuration
	case t.Kind() == reflect.String:
		f.Type = TypeString
	case t.Kind() == reflect.Bool:
		f.Type = TypeBool
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		f.Type = TypeInt
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		f.Type = TypeNumber
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String && !f.ptr:
		f.Type = TypeStringList
	default:
		return f, false, fmt.Errorf("type %s cannot hold a config value (string, bool, integers, floats, time.Duration, []string, or a pointer to one)", sf.Type)
	}
	if v, ok := sf.Tag.Lookup("oneof"); ok {
		if f.Type != TypeString {
			return f, false, errors.New("oneof applies to strings only")
		}
		f.AllowedValues = strings.Fields(v)
	}
	if f.url && f.Type != TypeString {
		return f, false, errors.New("url applies to strings only")
	}
	numeric := f.Type == TypeInt || f.Type == TypeNumber || f.Type == TypeDuration
	if f.positive && !numeric {
		return f, false, errors.New("positive applies to numbers and durations only")
	}
	for _, b := range []struct {
		tag string
		to  **float64
	}{{"min", &f.min}, {"max", &f.max}} {
		v, ok := sf.Tag.Lookup(b.tag)
		if !ok {
			continue
		}
		if !numeric {
			return f, false, fmt.Errorf("%s applies to numbers and durations only", b.tag)
		}
		n, err := parseBound(f.Type, v)
		if err != nil {
			return f, false, fmt.Errorf("%s: %w", b.tag, err)
		}
		*b.to = &n
	}
	if v, ok := sf.Tag.Lookup("default"); ok {
		if f.Secret {
			return f, false, errors.New("a secret field cannot have a default: secrets come from the operator")
		}
		if f.Required {
			return f, false, errors.New("a required field cannot have a default")
		}
		d, err := parseDefault(f.Type, v)
		if err != nil {
			return f, false, fmt.Errorf("default %q: %w", v, err)
		}
		f.Default = d
		if _, err := f.check(d); err != nil {
			return f, false, fmt.Errorf("default %q %s", v, err.Summary)
		}
	}
	return f, true, nil
}

func parseBound(t FieldType, v string) (float64, error) {
	if t == TypeDuration {
		d, err := time.ParseDuration(v)
		return float64(d), err
	}
	return strconv.ParseFloat(v, 64)
}

// parseDefault converts a default tag to the value the schema keeps (a
// duration stays a string such as "30s", as in Default()).
func parseDefault(t FieldType, v string) (any, error) {
	switch t {
	case TypeString:
		return v, nil
	case TypeBool:
		return strconv.ParseBool(v)
	case TypeInt:
		return strconv.ParseInt(v, 10, 64)
	case TypeNumber:
		return strconv.ParseFloat(v, 64)
	case TypeDuration:
		if _, err := time.ParseDuration(v); err != nil {
			return nil, err
		}
		return v, nil
	}
	return nil, errors.New("lists have no default")
}

// check applies the tags' limits to a value of the field's canonical type
// (or a default), and returns the value in canonical form.
func (f typedField) check(v any) (any, *Diagnostic) {
	cv, err := coerce(f.Field, v)
	if err != nil {
		return nil, &Diagnostic{Severity: SeverityError, Field: f.Name, Summary: err.Error()}
	}
	fail := func(format string, args ...any) (any, *Diagnostic) {
		return nil, &Diagnostic{Severity: SeverityError, Field: f.Name, Summary: fmt.Sprintf(format, args...), Detail: f.Description}
	}
	var n float64
	switch x := cv.(type) {
	case int64:
		n = float64(x)
	case float64:
		n = x
	case time.Duration:
		n = float64(x)
	case string:
		if f.url && x != "" {
			if u, err := url.Parse(x); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fail("must be an absolute http(s) URL, got %q", x)
			}
		}
		return cv, nil
	default:
		return cv, nil
	}
	show := func(b float64) string {
		if f.Type == TypeDuration {
			return time.Duration(b).String()
		}
		return strconv.FormatFloat(b, 'f', -1, 64)
	}
	switch {
	case f.positive && n <= 0:
		return fail("must be positive")
	case f.min != nil && f.max != nil && (n < *f.min || n > *f.max):
		return fail("must be from %s to %s", show(*f.min), show(*f.max))
	case f.min != nil && n < *f.min:
		return fail("must be at least %s", show(*f.min))
	case f.max != nil && n > *f.max:
		return fail("must be at most %s", show(*f.max))
	}
	return cv, nil
}

// Schema returns the config schema to report in Description.Schema.
func (c *ConfigSpec[T]) Schema() *Schema { return c.schema }

// Decode checks cfg (the Config Configure receives, or any config map)
// against the declaration and returns it as a T. Diagnostics name each
// field at fault: unknown and missing fields, wrong types, values outside
// the limits, and what T's Validate method reports.
func (c *ConfigSpec[T]) Decode(cfg Config) (T, Diagnostics) {
	var out T
	if c.schema.err != nil {
		return out, Diagnostics{{Severity: SeverityError, Summary: c.schema.err.Error()}}
	}
	applied, diags := c.schema.Apply(cfg)
	if diags.HasErrors() {
		return out, diags
	}
	rv := reflect.ValueOf(&out).Elem()
	for _, f := range c.fields {
		v, ok := applied[f.Name]
		if !ok {
			continue // optional, unset, no default: the zero value or nil
		}
		cv, d := f.check(v)
		if d != nil {
			diags = append(diags, *d)
			continue
		}
		if d := f.set(rv.FieldByIndex(f.index), cv); d != nil {
			diags = append(diags, *d)
		}
	}
	if diags.HasErrors() {
		return out, diags
	}
	if v, ok := any(&out).(ConfigValidation); ok {
		diags = append(diags, v.Validate()...)
	} else if v, ok := any(out).(ConfigValidation); ok {
		diags = append(diags, v.Validate()...)
	}
	return out, diags
}

// set stores a canonical value into a struct field of f's Go type.
func (f typedField) set(dst reflect.Value, v any) *Diagnostic {
	if f.ptr {
		p := reflect.New(dst.Type().Elem())
		dst.Set(p)
		dst = p.Elem()
	}
	switch x := v.(type) {
	case string:
		dst.SetString(x)
	case bool:
		dst.SetBool(x)
	case time.Duration:
		dst.SetInt(int64(x))
	case int64:
		if dst.CanInt() {
			if dst.OverflowInt(x) {
				return &Diagnostic{Severity: SeverityError, Field: f.Name, Summary: fmt.Sprintf("%d does not fit this field", x)}
			}
			dst.SetInt(x)
		} else {
			if x < 0 || dst.OverflowUint(uint64(x)) {
				return &Diagnostic{Severity: SeverityError, Field: f.Name, Summary: fmt.Sprintf("must be from 0 to %d", uint64(math.MaxUint64>>(64-dst.Type().Bits())))}
			}
			dst.SetUint(uint64(x))
		}
	case float64:
		dst.SetFloat(x)
	case []string:
		dst.Set(reflect.ValueOf(slices.Clone(x)).Convert(dst.Type()))
	}
	return nil
}
