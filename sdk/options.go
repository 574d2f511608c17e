package sdk

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/ezscale/platform/sdk/pluginv1"
)

// OptionType is how an option's value, always a string on the wire
// (ServiceRef.plan_options), is read.
type OptionType int32

// Option types, mirroring pluginv1.OptionType. Append-only.
const (
	// OptionString is text: at most MaxLength bytes, matching Pattern when
	// set, no control characters.
	OptionString = OptionType(pluginv1.OptionType_OPTION_TYPE_STRING)
	// OptionInt is a base-10 integer within Min and Max when set.
	OptionInt = OptionType(pluginv1.OptionType_OPTION_TYPE_INT)
	// OptionBool is "true" or "false".
	OptionBool = OptionType(pluginv1.OptionType_OPTION_TYPE_BOOL)
	// OptionEnum is one of AllowedValues.
	OptionEnum = OptionType(pluginv1.OptionType_OPTION_TYPE_ENUM)
)

var optionTypeNames = map[OptionType]string{OptionString: "string", OptionInt: "int", OptionBool: "bool", OptionEnum: "enum"}

func (t OptionType) String() string {
	if n, ok := optionTypeNames[t]; ok {
		return n
	}
	return "unknown"
}

// MarshalText writes the type's machine name: string, int, bool, enum.
func (t OptionType) MarshalText() ([]byte, error) {
	if n, ok := optionTypeNames[t]; ok {
		return []byte(n), nil
	}
	return nil, fmt.Errorf("unknown option type %d", int32(t))
}

// UnmarshalText parses the names MarshalText writes.
func (t *OptionType) UnmarshalText(b []byte) error {
	for ot, n := range optionTypeNames {
		if n == string(b) {
			*t = ot
			return nil
		}
	}
	return fmt.Errorf("unknown option type %q", b)
}

// Option declares one key a provisioner reads from a service's options
// (ServiceRef.plan_options): its type and limits, and who may set it. Staff
// set Plan options on plans and add-ons; a customer chooses Order options
// when ordering, among what the plan offers. The core refuses every other
// key and every value outside the limits, and never passes an undeclared
// key to the plugin.
//
// Build one with StringOption, IntOption, BoolOption, EnumOption or
// PrefixOption and the chained setters, or as a struct literal.
type Option struct {
	// Key is the option's name: lower-case letters, digits, '_' and '.'.
	Key  string     `json:"key"`
	Type OptionType `json:"type"`
	// Prefix makes Key a prefix ("env."): the option covers every key made
	// of it and a name of 1-64 letters, digits and underscores.
	Prefix      bool   `json:"prefix,omitempty"`
	Description string `json:"description,omitempty"`
	// Default is the value the plugin uses when the key is not set ("" when
	// there is none or it comes from the plugin's config). OptionValues'
	// getters return it for an unset key; the core only shows it.
	Default string `json:"default,omitempty"`
	// Min and Max bound an OptionInt, inclusive; nil is unbounded.
	Min *int64 `json:"min,omitempty"`
	Max *int64 `json:"max,omitempty"`
	// MaxLength bounds an OptionString in bytes; 0 leaves it to the core
	// (which caps customer values at 255 bytes).
	MaxLength int `json:"max_length,omitempty"`
	// Pattern is an RE2 expression an OptionString must match as a whole.
	Pattern string `json:"pattern,omitempty"`
	// AllowedValues are an OptionEnum's values.
	AllowedValues []string `json:"allowed_values,omitempty"`
	// Plan: staff may set the key on a plan or an add-on.
	Plan bool `json:"plan"`
	// Order: a customer may choose the key when ordering a plan that offers
	// it.
	Order bool `json:"order"`
	// Sensitive values (licence keys, passwords) should be hidden by forms
	// as they are typed; neither the core nor Parse writes them into an
	// error message, a log line or the audit log.
	Sensitive bool `json:"sensitive,omitempty"`
}

// StringOption declares a text option.
func StringOption(key, description string) Option {
	return Option{Key: key, Type: OptionString, Description: description}
}

// IntOption declares an integer option.
func IntOption(key, description string) Option {
	return Option{Key: key, Type: OptionInt, Description: description}
}

// BoolOption declares a "true"/"false" option.
func BoolOption(key, description string) Option {
	return Option{Key: key, Type: OptionBool, Description: description}
}

// EnumOption declares an option that takes one of values.
func EnumOption(key, description string, values ...string) Option {
	return Option{Key: key, Type: OptionEnum, Description: description, AllowedValues: values}
}

// PrefixOption declares a family of text options sharing a prefix, such as
// "env." for env.SERVER_JARFILE; read them with OptionValues.WithPrefix.
func PrefixOption(prefix, description string) Option {
	return Option{Key: prefix, Type: OptionString, Prefix: true, Description: description}
}

// OnPlan lets staff set the option on plans and add-ons.
func (o Option) OnPlan() Option { o.Plan = true; return o }

// AtOrder lets a customer choose the option when ordering a plan that
// offers it.
func (o Option) AtOrder() Option { o.Order = true; return o }

// Range bounds an integer option, inclusive.
func (o Option) Range(lo, hi int64) Option { o.Min, o.Max = &lo, &hi; return o }

// AtLeast sets an integer option's lower bound.
func (o Option) AtLeast(lo int64) Option { o.Min = &lo; return o }

// AtMost sets an integer option's upper bound.
func (o Option) AtMost(hi int64) Option { o.Max = &hi; return o }

// MaxLen bounds a text option's length in bytes.
func (o Option) MaxLen(n int) Option { o.MaxLength = n; return o }

// Matching makes a text option match the RE2 expression pattern as a
// whole (it is anchored for you).
func (o Option) Matching(pattern string) Option { o.Pattern = pattern; return o }

// WithDefault documents the value the plugin uses when the option is not
// set, and makes OptionValues' getters return it.
func (o Option) WithDefault(v string) Option { o.Default = v; return o }

// MarkSensitive marks the value as a secret.
func (o Option) MarkSensitive() Option { o.Sensitive = true; return o }

var (
	optionKeyRe    = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)
	optionSuffixRe = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
	// patterns caches compiled Pattern expressions (a plugin declares a
	// handful, checked on every call).
	patterns sync.Map
)

// Matches reports whether key is the option's key or, for a prefix option,
// a key of its family.
func (o Option) Matches(key string) bool {
	if !o.Prefix {
		return key == o.Key
	}
	rest, ok := strings.CutPrefix(key, o.Key)
	return ok && optionSuffixRe.MatchString(rest)
}

func compilePattern(p string) (*regexp.Regexp, error) {
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil {
		return nil, err
	}
	patterns.Store(p, re)
	return re, nil
}

// Check reports why value is not a valid value of the option, or nil. The
// empty string means "not set" and is always valid. The error's text is a
// sentence fragment for a field error ("must be at most 16").
func (o Option) Check(value string) error {
	if value == "" {
		return nil
	}
	switch o.Type {
	case OptionInt:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return errors.New("must be an integer")
		}
		switch {
		case o.Min != nil && o.Max != nil && (n < *o.Min || n > *o.Max):
			return fmt.Errorf("must be from %d to %d", *o.Min, *o.Max)
		case o.Min != nil && n < *o.Min:
			return fmt.Errorf("must be at least %d", *o.Min)
		case o.Max != nil && n > *o.Max:
			return fmt.Errorf("must be at most %d", *o.Max)
		}
	case OptionBool:
		if value != "true" && value != "false" {
			return errors.New(`must be "true" or "false"`)
		}
	case OptionEnum:
		if !slices.Contains(o.AllowedValues, value) {
			return fmt.Errorf("must be one of %s", strings.Join(o.AllowedValues, ", "))
		}
	case OptionString:
		if o.MaxLength > 0 && len(value) > o.MaxLength {
			return fmt.Errorf("must be at most %d bytes", o.MaxLength)
		}
		if !utf8.ValidString(value) || strings.IndexFunc(value, unicode.IsControl) >= 0 {
			return errors.New("must be UTF-8 text without control characters")
		}
		if o.Pattern != "" {
			re, err := compilePattern(o.Pattern)
			if err != nil {
				return errors.New("cannot be checked: the plugin declares an invalid pattern")
			}
			if !re.MatchString(value) {
				return fmt.Errorf("must match %s", o.Pattern)
			}
		}
	default:
		return errors.New("cannot be checked: the plugin declares an unknown type")
	}
	return nil
}

// validate reports mistakes in the declaration of one option.
func (o Option) validate() error {
	if !optionKeyRe.MatchString(o.Key) {
		return fmt.Errorf("option %q: keys are 1-64 lower-case letters, digits, '_' and '.', starting with a letter", o.Key)
	}
	if o.Prefix != strings.HasSuffix(o.Key, ".") {
		return fmt.Errorf("option %q: a prefix option's key, and only its key, ends with '.'", o.Key)
	}
	if !o.Plan && !o.Order {
		return fmt.Errorf("option %q: nobody may set it (mark it OnPlan, AtOrder or both)", o.Key)
	}
	if _, ok := optionTypeNames[o.Type]; !ok {
		return fmt.Errorf("option %q: unknown type %d", o.Key, o.Type)
	}
	if o.Prefix && o.Type != OptionString {
		return fmt.Errorf("option %q: prefix options are strings", o.Key)
	}
	if (o.Min != nil || o.Max != nil) && o.Type != OptionInt {
		return fmt.Errorf("option %q: only integer options have a range", o.Key)
	}
	if o.Min != nil && o.Max != nil && *o.Min > *o.Max {
		return fmt.Errorf("option %q: min %d is above max %d", o.Key, *o.Min, *o.Max)
	}
	if (o.MaxLength != 0 || o.Pattern != "") && o.Type != OptionString {
		return fmt.Errorf("option %q: only string options have a length or a pattern", o.Key)
	}
	if o.MaxLength < 0 {
		return fmt.Errorf("option %q: negative max length", o.Key)
	}
	if o.Pattern != "" {
		if _, err := compilePattern(o.Pattern); err != nil {
			return fmt.Errorf("option %q: pattern: %w", o.Key, err)
		}
	}
	if o.Type == OptionEnum {
		if len(o.AllowedValues) == 0 || slices.Contains(o.AllowedValues, "") {
			return fmt.Errorf("option %q: an enum needs non-empty allowed values", o.Key)
		}
	} else if len(o.AllowedValues) > 0 {
		return fmt.Errorf("option %q: only enum options have allowed values", o.Key)
	}
	if err := o.Check(o.Default); err != nil {
		return fmt.Errorf("option %q: default %q %w", o.Key, o.Default, err)
	}
	return nil
}

// Options is a provisioner's option declaration, set as
// Description.Options. Keep it in a package variable so Describe and the
// code reading a service's options share it:
//
//	var options = sdk.Options{
//		sdk.IntOption("package_id", "package of new servers").OnPlan().AtLeast(1),
//		sdk.StringOption("hostname", "the server's hostname").AtOrder().MaxLen(253).Matching(`[a-z0-9.-]+`),
//	}
//
//	vals, err := options.Parse(req.GetService().GetPlanOptions())
//	pkg := vals.Int("package_id", cfg.defaultPackage)
type Options []Option

// Lookup returns the option declaring key: the option of that exact key,
// else the prefix option whose family it belongs to.
func (os Options) Lookup(key string) (Option, bool) {
	var best Option
	found := false
	for _, o := range os {
		if !o.Prefix && o.Key == key {
			return o, true
		}
		if o.Prefix && o.Matches(key) && (!found || len(o.Key) > len(best.Key)) {
			best, found = o, true
		}
	}
	return best, found
}

// Validate reports mistakes in the declaration itself: bad or repeated
// keys, unknown types, limits that do not fit the type, patterns that do
// not compile, defaults outside the limits, options nobody may set. Serve
// refuses to start a plugin whose declaration is broken.
func (os Options) Validate() error {
	seen := map[string]bool{}
	for _, o := range os {
		if err := o.validate(); err != nil {
			return fmt.Errorf("options: %w", err)
		}
		if seen[o.Key] {
			return fmt.Errorf("options: option %q is declared twice", o.Key)
		}
		seen[o.Key] = true
	}
	return nil
}

// Proto converts the declaration to its wire form.
func (os Options) Proto() []*pluginv1.OptionSpec {
	out := make([]*pluginv1.OptionSpec, 0, len(os))
	for _, o := range os {
		out = append(out, &pluginv1.OptionSpec{
			Key: o.Key, Type: pluginv1.OptionType(o.Type), Prefix: o.Prefix, Description: o.Description,
			Default: o.Default, Min: o.Min, Max: o.Max, MaxLength: int32(min(o.MaxLength, 1<<31-1)), Pattern: o.Pattern,
			AllowedValues: slices.Clone(o.AllowedValues), Plan: o.Plan, Order: o.Order, Sensitive: o.Sensitive,
		})
	}
	return out
}

// OptionsFromProto converts a wire declaration (as returned by Describe).
func OptionsFromProto(ps []*pluginv1.OptionSpec) Options {
	out := make(Options, 0, len(ps))
	for _, p := range ps {
		o := Option{
			Key: p.GetKey(), Type: OptionType(p.GetType()), Prefix: p.GetPrefix(), Description: p.GetDescription(),
			Default: p.GetDefault(), MaxLength: int(p.GetMaxLength()), Pattern: p.GetPattern(),
			AllowedValues: slices.Clone(p.GetAllowedValues()), Plan: p.GetPlan(), Order: p.GetOrder(), Sensitive: p.GetSensitive(),
		}
		if p.Min != nil {
			v := p.GetMin()
			o.Min = &v
		}
		if p.Max != nil {
			v := p.GetMax()
			o.Max = &v
		}
		out = append(out, o)
	}
	return out
}

// Parse checks a service's options (ServiceRef.plan_options, or
// ChangePlanRequest.new_plan_options) against the declaration and returns
// them for typed reading. A declared key with an invalid value is an
// InvalidInput error naming plan_options.<key>; undeclared keys are
// ignored (the core does not send them).
func (os Options) Parse(raw map[string]string) (OptionValues, error) {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vals := OptionValues{decl: os, vals: make(map[string]string, len(raw))}
	for _, k := range keys {
		o, ok := os.Lookup(k)
		if !ok {
			continue
		}
		if err := o.Check(raw[k]); err != nil {
			if o.Sensitive {
				return OptionValues{}, FieldErrorf("plan_options."+k, "%v", err)
			}
			return OptionValues{}, FieldErrorf("plan_options."+k, "%v, got %q", err, raw[k])
		}
		if raw[k] != "" {
			vals.vals[k] = raw[k]
		}
	}
	return vals, nil
}

// OptionValues are a service's option values, checked by Options.Parse.
// Each getter returns the key's value, else the option's declared Default,
// else fallback. Reading a key the declaration does not have panics (the
// SDK turns it into an Internal error): declare what you read.
type OptionValues struct {
	decl Options
	vals map[string]string
}

func (v OptionValues) lookup(key string) (string, bool) {
	o, ok := v.decl.Lookup(key)
	if !ok {
		panic(fmt.Sprintf("sdk: option %q is not declared in the plugin's Options", key))
	}
	if s, ok := v.vals[key]; ok {
		return s, true
	}
	if o.Default != "" && !o.Prefix {
		return o.Default, true
	}
	return "", false
}

// Has reports whether the key is set (a declared default does not count).
func (v OptionValues) Has(key string) bool {
	_, _ = v.lookup(key)
	_, ok := v.vals[key]
	return ok
}

// String returns a text or enum option.
func (v OptionValues) String(key, fallback string) string {
	if s, ok := v.lookup(key); ok {
		return s
	}
	return fallback
}

// Int returns an integer option.
func (v OptionValues) Int(key string, fallback int64) int64 {
	if s, ok := v.lookup(key); ok {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	}
	return fallback
}

// Bool returns a boolean option.
func (v OptionValues) Bool(key string, fallback bool) bool {
	if s, ok := v.lookup(key); ok {
		return s == "true"
	}
	return fallback
}

// WithPrefix returns the set keys of a prefix option's family, by the name
// after the prefix: {"SERVER_JARFILE": "server.jar"} for env.SERVER_JARFILE.
func (v OptionValues) WithPrefix(prefix string) map[string]string {
	if !slices.ContainsFunc(v.decl, func(o Option) bool { return o.Prefix && o.Key == prefix }) {
		panic(fmt.Sprintf("sdk: prefix option %q is not declared in the plugin's Options", prefix))
	}
	out := map[string]string{}
	for k, s := range v.vals {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			if o, _ := v.decl.Lookup(k); o.Prefix && o.Key == prefix {
				out[name] = s
			}
		}
	}
	return out
}
