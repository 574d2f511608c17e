package sdk

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/ezscale/platform/sdk/pluginv1"
)

// FieldType is the type of a config field.
type FieldType int32

// Field types, mirroring pluginv1.FieldType. Append-only.
const (
	TypeString     = FieldType(pluginv1.FieldType_FIELD_TYPE_STRING)
	TypeInt        = FieldType(pluginv1.FieldType_FIELD_TYPE_INT)
	TypeNumber     = FieldType(pluginv1.FieldType_FIELD_TYPE_NUMBER)
	TypeBool       = FieldType(pluginv1.FieldType_FIELD_TYPE_BOOL)
	TypeDuration   = FieldType(pluginv1.FieldType_FIELD_TYPE_DURATION)
	TypeStringList = FieldType(pluginv1.FieldType_FIELD_TYPE_STRING_LIST)
)

func (t FieldType) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt:
		return "integer"
	case TypeNumber:
		return "number"
	case TypeBool:
		return "bool"
	case TypeDuration:
		return "duration"
	case TypeStringList:
		return "list of strings"
	}
	return "unknown"
}

var fieldTypeNames = map[FieldType]string{
	TypeString: "string", TypeInt: "int", TypeNumber: "number", TypeBool: "bool",
	TypeDuration: "duration", TypeStringList: "string_list",
}

// MarshalText gives JSON output (plugins check, the admin API) stable
// machine names: string, int, number, bool, duration, string_list.
func (t FieldType) MarshalText() ([]byte, error) {
	if n, ok := fieldTypeNames[t]; ok {
		return []byte(n), nil
	}
	return nil, fmt.Errorf("unknown field type %d", int32(t))
}

// UnmarshalText parses the names MarshalText writes.
func (t *FieldType) UnmarshalText(b []byte) error {
	for ft, n := range fieldTypeNames {
		if n == string(b) {
			*t = ft
			return nil
		}
	}
	return fmt.Errorf("unknown field type %q", b)
}

// Field describes one config field.
type Field struct {
	Name        string    `json:"name"`
	Type        FieldType `json:"type"`
	Required    bool      `json:"required,omitempty"`
	Secret      bool      `json:"secret,omitempty"`
	Description string    `json:"description,omitempty"`
	// Default is used when the field is absent; nil means no default.
	Default any `json:"default,omitempty"`
	// AllowedValues restricts a string field to these values.
	AllowedValues []string `json:"allowed_values,omitempty"`
}

// Schema is a plugin's config schema. Build one with NewSchema; the zero
// value is an empty schema that accepts only an empty config.
type Schema struct {
	fields []Field
	// err is a mistake in a declaration the schema was derived from
	// (ConfigOf); check reports it, so Serve refuses to start.
	err error
}

// NewSchema returns an empty schema.
func NewSchema() *Schema { return &Schema{} }

// FieldOption sets an optional property of a field.
type FieldOption func(*Field)

// Required marks the field as required.
func Required() FieldOption { return func(f *Field) { f.Required = true } }

// Secret marks the field as a secret: the core never logs it nor returns it
// from its API.
func Secret() FieldOption { return func(f *Field) { f.Secret = true } }

// Doc sets the field's description, shown to operators.
func Doc(text string) FieldOption { return func(f *Field) { f.Description = text } }

// Default sets the field's default value. Use a string for durations ("30s").
func Default(v any) FieldOption { return func(f *Field) { f.Default = v } }

// OneOf restricts a string field to the given values.
func OneOf(values ...string) FieldOption {
	return func(f *Field) { f.AllowedValues = values }
}

func (s *Schema) add(name string, t FieldType, opts []FieldOption) *Schema {
	f := Field{Name: name, Type: t}
	for _, o := range opts {
		o(&f)
	}
	s.fields = append(s.fields, f)
	return s
}

// String adds a string field.
func (s *Schema) String(name string, opts ...FieldOption) *Schema {
	return s.add(name, TypeString, opts)
}

// Int adds an integer field.
func (s *Schema) Int(name string, opts ...FieldOption) *Schema { return s.add(name, TypeInt, opts) }

// Number adds a floating-point field (never for money).
func (s *Schema) Number(name string, opts ...FieldOption) *Schema {
	return s.add(name, TypeNumber, opts)
}

// Bool adds a boolean field.
func (s *Schema) Bool(name string, opts ...FieldOption) *Schema { return s.add(name, TypeBool, opts) }

// Duration adds a duration field, written as a Go duration string ("30s").
func (s *Schema) Duration(name string, opts ...FieldOption) *Schema {
	return s.add(name, TypeDuration, opts)
}

// StringList adds a list-of-strings field.
func (s *Schema) StringList(name string, opts ...FieldOption) *Schema {
	return s.add(name, TypeStringList, opts)
}

// Fields returns a copy of the schema's fields in declaration order.
func (s *Schema) Fields() []Field {
	if s == nil {
		return nil
	}
	return slices.Clone(s.fields)
}

// Field returns the named field.
func (s *Schema) Field(name string) (Field, bool) {
	if s == nil {
		return Field{}, false
	}
	for _, f := range s.fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// check reports mistakes in the schema itself; Serve refuses to start a
// plugin whose schema is broken, so operators never see them.
func (s *Schema) check() error {
	if s.err != nil {
		return s.err
	}
	seen := map[string]bool{}
	for _, f := range s.Fields() {
		if f.Name == "" {
			return fmt.Errorf("config schema: a field has no name")
		}
		if seen[f.Name] {
			return fmt.Errorf("config schema: field %q declared twice", f.Name)
		}
		seen[f.Name] = true
		if f.Secret && f.Default != nil {
			return fmt.Errorf("config schema: secret field %q has a default; secrets come from the operator", f.Name)
		}
		if f.Default != nil {
			if _, err := coerce(f, f.Default); err != nil {
				return fmt.Errorf("config schema: field %q: default: %w", f.Name, err)
			}
		}
	}
	return nil
}

// Apply validates cfg against the schema and returns it with defaults filled
// in and every value converted to its canonical Go type (string, int64,
// float64, bool, time.Duration, []string). Diagnostics name the field:
// unknown fields, missing required fields, wrong types, values outside
// AllowedValues.
func (s *Schema) Apply(cfg map[string]any) (Config, Diagnostics) {
	var diags Diagnostics
	out := Config{}
	names := make([]string, 0, len(cfg))
	for name := range cfg {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := s.Field(name); !ok {
			diags = append(diags, Diagnostic{Severity: SeverityError, Field: name, Summary: "unknown field", Detail: s.knownFields()})
		}
	}
	for _, f := range s.Fields() {
		v, present := cfg[f.Name]
		if !present || v == nil {
			if f.Default != nil {
				v, _ = coerce(f, f.Default)
				out[f.Name] = v
			} else if f.Required {
				diags = append(diags, Diagnostic{Severity: SeverityError, Field: f.Name, Summary: "required field is missing", Detail: f.Description})
			}
			continue
		}
		cv, err := coerce(f, v)
		if err != nil {
			diags = append(diags, Diagnostic{Severity: SeverityError, Field: f.Name, Summary: err.Error()})
			continue
		}
		out[f.Name] = cv
	}
	return out, diags
}

func (s *Schema) knownFields() string {
	names := make([]string, 0, len(s.Fields()))
	for _, f := range s.Fields() {
		names = append(names, f.Name)
	}
	if len(names) == 0 {
		return "this plugin takes no config"
	}
	return "known fields: " + strings.Join(names, ", ")
}

// coerce converts v to the field's canonical Go type. Numbers arrive as
// float64 from protobuf Structs and as ints from HCL, so both are accepted
// when they hold an integer.
func coerce(f Field, v any) (any, error) {
	switch f.Type {
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be a string, got %T", v)
		}
		if len(f.AllowedValues) > 0 && !slices.Contains(f.AllowedValues, s) {
			return nil, fmt.Errorf("must be one of %s, got %q", strings.Join(f.AllowedValues, ", "), s)
		}
		return s, nil
	case TypeInt:
		switch n := v.(type) {
		case int:
			return int64(n), nil
		case int32:
			return int64(n), nil
		case int64:
			return n, nil
		case float64:
			if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
				return nil, fmt.Errorf("must be an integer, got %v", n)
			}
			return int64(n), nil
		}
		return nil, fmt.Errorf("must be an integer, got %T", v)
	case TypeNumber:
		switch n := v.(type) {
		case int:
			return float64(n), nil
		case int64:
			return float64(n), nil
		case float64:
			return n, nil
		}
		return nil, fmt.Errorf("must be a number, got %T", v)
	case TypeBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("must be true or false, got %T", v)
		}
		return b, nil
	case TypeDuration:
		switch d := v.(type) {
		case time.Duration:
			return d, nil
		case string:
			parsed, err := time.ParseDuration(d)
			if err != nil {
				return nil, fmt.Errorf("must be a duration like \"30s\", got %q", d)
			}
			return parsed, nil
		}
		return nil, fmt.Errorf("must be a duration string like \"30s\", got %T", v)
	case TypeStringList:
		switch l := v.(type) {
		case []string:
			return slices.Clone(l), nil
		case []any:
			out := make([]string, 0, len(l))
			for i, e := range l {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("element %d must be a string, got %T", i, e)
				}
				out = append(out, s)
			}
			return out, nil
		}
		return nil, fmt.Errorf("must be a list of strings, got %T", v)
	}
	return nil, fmt.Errorf("field has unknown type %d", f.Type)
}

// Proto converts the schema to its wire form.
func (s *Schema) Proto() *pluginv1.ConfigSchema {
	out := &pluginv1.ConfigSchema{}
	for _, f := range s.Fields() {
		pf := &pluginv1.ConfigField{
			Name:          f.Name,
			Type:          pluginv1.FieldType(f.Type),
			Required:      f.Required,
			Secret:        f.Secret,
			Description:   f.Description,
			AllowedValues: f.AllowedValues,
		}
		if f.Default != nil {
			if v, err := ValueToProto(f.Default); err == nil {
				pf.Default = v
			}
		}
		out.Fields = append(out.Fields, pf)
	}
	return out
}

// SchemaFromProto converts a wire schema (as returned by Describe) so the
// host can validate an operator's config before sending it.
func SchemaFromProto(p *pluginv1.ConfigSchema) *Schema {
	s := NewSchema()
	for _, pf := range p.GetFields() {
		f := Field{
			Name:          pf.GetName(),
			Type:          FieldType(pf.GetType()),
			Required:      pf.GetRequired(),
			Secret:        pf.GetSecret(),
			Description:   pf.GetDescription(),
			AllowedValues: pf.GetAllowedValues(),
		}
		if pf.GetDefault() != nil {
			f.Default = pf.GetDefault().AsInterface()
		}
		s.fields = append(s.fields, f)
	}
	return s
}

// ValueToProto converts a Go config value to a protobuf Value, accepting the
// canonical config types (time.Duration becomes its string form).
func ValueToProto(v any) (*structpb.Value, error) {
	switch x := v.(type) {
	case time.Duration:
		return structpb.NewStringValue(x.String()), nil
	case []string:
		l := make([]any, len(x))
		for i, s := range x {
			l[i] = s
		}
		return structpb.NewValue(l)
	case map[string]any:
		st, err := MapToStruct(x)
		if err != nil {
			return nil, err
		}
		return structpb.NewStructValue(st), nil
	}
	return structpb.NewValue(v)
}

// MapToStruct converts a config map to a protobuf Struct.
func MapToStruct(m map[string]any) (*structpb.Struct, error) {
	st := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(m))}
	for k, v := range m {
		pv, err := ValueToProto(v)
		if err != nil {
			return nil, fmt.Errorf("config field %q: %w", k, err)
		}
		st.Fields[k] = pv
	}
	return st, nil
}

// Config is a plugin's validated config: every field of the schema that has
// a value or a default, in its canonical Go type. The getters return the zero
// value for absent fields, so read optional fields without a default with a
// comma-ok lookup on the map.
type Config map[string]any

// String returns a string field.
func (c Config) String(name string) string { s, _ := c[name].(string); return s }

// Int returns an integer field.
func (c Config) Int(name string) int64 { n, _ := c[name].(int64); return n }

// Number returns a number field.
func (c Config) Number(name string) float64 { n, _ := c[name].(float64); return n }

// Bool returns a boolean field.
func (c Config) Bool(name string) bool { b, _ := c[name].(bool); return b }

// Duration returns a duration field.
func (c Config) Duration(name string) time.Duration { d, _ := c[name].(time.Duration); return d }

// StringList returns a list-of-strings field.
func (c Config) StringList(name string) []string { l, _ := c[name].([]string); return l }
