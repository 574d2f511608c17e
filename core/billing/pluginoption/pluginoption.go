// Package pluginoption applies provisioner plugins' option declarations
// (sdk.Options, carried in Describe): it checks the options staff set on
// plans and add-ons when they are saved and those a customer chooses at
// order, builds the options a plugin is told about a service (declared
// keys only), and keeps each plugin's last declaration in the database for
// when the plugin is not running.
//
// The rules, in one place:
//
//   - Staff may set a key on a plan or an add-on (plugin_options) when the
//     plugin declares it OnPlan; its value must pass the declaration.
//   - A plan offers customers a choice of a key (order_options: key → the
//     values offered, or [] for any value the declaration accepts) when
//     the plugin declares it AtOrder. The plan's own value for that key, if
//     any, is the default and must be among the values offered.
//   - A customer may choose a key at order only when the plugin declares it
//     AtOrder and the plan offers it, and only a value offered.
//   - A plugin is told its declared staff keys from the add-ons and the plan
//     (the plan's over the add-ons'), and the customer's choices of keys the
//     plan offers (over the plan's default). Nothing else.
package pluginoption

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/sdk"
)

// Bounds of what a plan offers and what a customer may send.
const (
	// MaxOffered is the number of keys a plan may offer customers.
	MaxOffered = 20
	// MaxOfferedValues is the number of values offered for one key.
	MaxOfferedValues = 100
	// MaxCustomerValue bounds a customer's value (when the declaration
	// does not bound it more tightly).
	MaxCustomerValue = 255
)

// Offered is what a plan offers customers to choose at order: for each key,
// the values offered, or none for any value the declaration accepts.
type Offered map[string][]string

// Allows reports whether the plan offers key with value.
func (o Offered) Allows(key, value string) bool {
	vals, ok := o[key]
	return ok && (len(vals) == 0 || slices.Contains(vals, value))
}

// Refused is the problem returned when option fields break the plugin's
// declaration or the plan's offer: 422, each field named.
func Refused(errs apperr.Fields) error {
	if len(errs) == 0 {
		return nil
	}
	return &apperr.Error{Code: apperr.Unprocessable, Reason: "option_refused",
		Message: "options the provisioner does not accept from you", Fields: errs}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CheckStaff checks options staff set on a plan or an add-on: every key
// declared OnPlan, every value valid. Problems are added to errs under
// field + "." + key.
func CheckStaff(decl sdk.Options, plugin, field string, opts map[string]string, errs *apperr.Fields) {
	for _, k := range sortedKeys(opts) {
		o, ok := decl.Lookup(k)
		switch {
		case !ok:
			errs.Add(field+"."+k, "is not an option of the %s plugin%s", plugin, known(decl, func(o sdk.Option) bool { return o.Plan }))
		case !o.Plan:
			errs.Add(field+"."+k, "is chosen by customers at order, not set by staff (offer it in order_options)")
		default:
			if err := o.Check(opts[k]); err != nil {
				errs.Add(field+"."+k, "%v", err)
			}
		}
	}
}

// CheckPlan checks a plan's staff options and its offer to customers. Field
// errors name plugin_options.<key> and order_options.<key>.
func CheckPlan(decl sdk.Options, plugin string, opts map[string]string, offered Offered, errs *apperr.Fields) {
	CheckStaff(decl, plugin, "plugin_options", opts, errs)
	if len(offered) > MaxOffered {
		errs.Add("order_options", "must offer at most %d options", MaxOffered)
		return
	}
	for _, k := range sortedKeys(offered) {
		field := "order_options." + k
		o, ok := decl.Lookup(k)
		switch {
		case !ok:
			errs.Add(field, "is not an option of the %s plugin%s", plugin, known(decl, func(o sdk.Option) bool { return o.Order }))
			continue
		case !o.Order:
			errs.Add(field, "is set by staff, not chosen by customers")
			continue
		case len(offered[k]) > MaxOfferedValues:
			errs.Add(field, "must offer at most %d values", MaxOfferedValues)
			continue
		}
		seen := map[string]bool{}
		for i, v := range offered[k] {
			if err := checkCustomer(o, v); err != nil {
				errs.Add(field+"["+strconv.Itoa(i)+"]", "%v", err)
			} else if v == "" || seen[v] {
				errs.Add(field+"["+strconv.Itoa(i)+"]", "must be a value, listed once")
			}
			seen[v] = true
		}
		if def, ok := opts[k]; ok && o.Plan && !offered.Allows(k, def) {
			errs.Add("plugin_options."+k, "is the default of a choice offered to customers, so must be one of the values in order_options.%s", k)
		}
	}
}

// CheckOrder checks a customer's options at order: each key declared
// AtOrder and offered by the plan, each value offered and valid. Field
// errors name options.<key>.
func CheckOrder(decl sdk.Options, offered Offered, opts map[string]string, errs *apperr.Fields) {
	for _, k := range sortedKeys(opts) {
		field, v := "options."+k, opts[k]
		o, ok := decl.Lookup(k)
		switch {
		case !ok:
			errs.Add(field, "is not an option of this plan%s", known(decl, func(o sdk.Option) bool { return o.Order && offered.has(o.Key) }))
		case !o.Order:
			errs.Add(field, "is set by the plan and cannot be chosen")
		case !offered.has(k):
			errs.Add(field, "this plan offers no choice of %s", k)
		case !offered.Allows(k, v):
			errs.Add(field, "must be one of %s", strings.Join(offered[k], ", "))
		default:
			if err := checkCustomer(o, v); err != nil {
				errs.Add(field, "%v", err)
			}
		}
	}
}

func (o Offered) has(key string) bool { _, ok := o[key]; return ok }

// checkCustomer checks a value a customer may send: the declaration's
// limits and the core's own length bound.
func checkCustomer(o sdk.Option, v string) error {
	if o.Type == sdk.OptionString && (o.MaxLength == 0 || o.MaxLength > MaxCustomerValue) {
		o.MaxLength = MaxCustomerValue
	}
	return o.Check(v)
}

// known lists the keys that would be accepted, for the error message.
func known(decl sdk.Options, keep func(sdk.Option) bool) string {
	var keys []string
	for _, o := range decl {
		if keep(o) {
			k := o.Key
			if o.Prefix {
				k += "<NAME>"
			}
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return " (accepted: " + strings.Join(keys, ", ") + ")"
}

// Sources are a service's options as stored: the plan's, what the plan
// offers, the add-ons', and the customer's choices.
type Sources struct {
	Plan     map[string]string
	Offered  Offered
	Addons   []map[string]string
	Customer map[string]string
}

// View is what the plugin is told about a service's options
// (ServiceRef.plan_options): the add-ons' staff keys, overridden by the
// plan's, overridden by the customer's choices of keys the plan offers.
// Only keys the declaration has, set by whom it allows, get through; so a
// customer value stored before a key stopped being offered, or a key a
// plugin stopped declaring, no longer reaches the backend.
func View(decl sdk.Options, src Sources) map[string]string {
	out := map[string]string{}
	staff := func(opts map[string]string) {
		for k, v := range opts {
			if o, ok := decl.Lookup(k); ok && o.Plan {
				out[k] = v
			}
		}
	}
	for _, a := range src.Addons {
		staff(a)
	}
	staff(src.Plan)
	for k, v := range src.Customer {
		if o, ok := decl.Lookup(k); ok && o.Order && src.Offered.Allows(k, v) {
			out[k] = v
		}
	}
	return out
}
