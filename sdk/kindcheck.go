package sdk

import (
	"context"
	"fmt"
	"reflect"
	"strings"
)

// The checks below run when Serve starts (and in describe mode), so a
// plugin that does not implement what it means to cannot start: the
// compiler only checks what an interface guard asks it to, and a kind or a
// capability is otherwise derived silently from whatever methods match.

type ifaceInfo struct {
	name string // "Provisioner"
	typ  reflect.Type
}

func ifaceOf[I any](name string) ifaceInfo {
	return ifaceInfo{name: name, typ: reflect.TypeFor[I]()}
}

// kindInterfaces are the kind interfaces, in Kind order.
var kindInterfaces = []struct {
	kind Kind
	ifaceInfo
}{
	{KindProvisioner, ifaceOf[Provisioner]("Provisioner")},
	{KindNotifier, ifaceOf[Notifier]("Notifier")},
	{KindCommunity, ifaceOf[Community]("Community")},
	{KindPaymentGateway, ifaceOf[PaymentGateway]("PaymentGateway")},
	{KindMonitor, ifaceOf[Monitor]("Monitor")},
	{KindAssistant, ifaceOf[Assistant]("Assistant")},
	{KindHelpdesk, ifaceOf[Helpdesk]("Helpdesk")},
	{KindPricingSource, ifaceOf[PricingSource]("PricingSource")},
}

// capabilityInterfaces are the optional provisioner interfaces, one per
// capability.
var capabilityInterfaces = []struct {
	capability Capability
	ifaceInfo
}{
	{CapRenew, ifaceOf[Renewer]("Renewer")},
	{CapChangePlan, ifaceOf[PlanChanger]("PlanChanger")},
	{CapResetPassword, ifaceOf[PasswordResetter]("PasswordResetter")},
	{CapListAccounts, ifaceOf[AccountLister]("AccountLister")},
	{CapUsage, ifaceOf[UsageReporter]("UsageReporter")},
	{CapPower, ifaceOf[PowerController]("PowerController")},
	{CapSnapshot, ifaceOf[Snapshotter]("Snapshotter")},
	{CapBackup, ifaceOf[BackupManager]("BackupManager")},
	{CapLoginURL, ifaceOf[LoginURLProvider]("LoginURLProvider")},
	{CapActions, ifaceOf[ActionProvider]("ActionProvider")},
	{CapRunScript, ifaceOf[ScriptRunner]("ScriptRunner")},
	{CapCapacity, ifaceOf[CapacityReporter]("CapacityReporter")},
	{CapPlayerHistory, ifaceOf[PlayerHistoryReporter]("PlayerHistoryReporter")},
}

// methodGap is how a type falls short of one interface method.
type methodGap struct {
	want reflect.Method // the interface's method
	// has is the type's method of the same name, or of the same name but
	// for letter case, when there is one.
	has   *reflect.Method
	found bool // has exists with the exact name
}

func (g methodGap) String() string {
	s := g.want.Name + signature(g.want.Type, false)
	switch {
	case g.has == nil:
	case g.has.Name != g.want.Name:
		s += fmt.Sprintf(" (it has %s%s: check the spelling)", g.has.Name, signature(g.has.Type, true))
	default:
		s += fmt.Sprintf(" (it has %s%s)", g.has.Name, signature(g.has.Type, true))
	}
	return s
}

// gaps compares t's method set with iface's methods. matched counts the
// methods t has with the right name and signature.
func gaps(t reflect.Type, iface reflect.Type) (missing []methodGap, matched int) {
	for m := range iface.Methods() {
		have, ok := t.MethodByName(m.Name)
		if ok && sameSignature(have.Type, m.Type, true) {
			matched++
			continue
		}
		g := methodGap{want: m}
		if ok {
			g.has, g.found = &have, true
		} else {
			for tm := range t.Methods() {
				if strings.EqualFold(tm.Name, m.Name) {
					g.has = &tm
					break
				}
			}
		}
		missing = append(missing, g)
	}
	return missing, matched
}

// sameSignature compares a method type of a concrete type (whose first
// parameter is the receiver) with an interface method type.
func sameSignature(method, want reflect.Type, hasReceiver bool) bool {
	skip := 0
	if hasReceiver {
		skip = 1
	}
	if method.NumIn()-skip != want.NumIn() || method.NumOut() != want.NumOut() || method.IsVariadic() != want.IsVariadic() {
		return false
	}
	for i := range want.NumIn() {
		if method.In(i+skip) != want.In(i) {
			return false
		}
	}
	for i := range want.NumOut() {
		if method.Out(i) != want.Out(i) {
			return false
		}
	}
	return true
}

var ctxType = reflect.TypeFor[context.Context]()

// signature formats a method type the way an author writes it:
// "(ctx, *GetInfoRequest) (*GetInfoResponse, error)".
func signature(ft reflect.Type, hasReceiver bool) string {
	var in, out []string
	for i := range ft.NumIn() {
		if hasReceiver && i == 0 {
			continue
		}
		in = append(in, typeName(ft.In(i)))
	}
	for i := range ft.NumOut() {
		out = append(out, typeName(ft.Out(i)))
	}
	s := "(" + strings.Join(in, ", ") + ")"
	switch len(out) {
	case 0:
	case 1:
		s += " " + out[0]
	default:
		s += " (" + strings.Join(out, ", ") + ")"
	}
	return s
}

func typeName(t reflect.Type) string {
	switch {
	case t == ctxType:
		return "ctx"
	case t.Kind() == reflect.Pointer && t.Elem().Name() != "":
		return "*" + t.Elem().Name()
	case t.Name() != "":
		return t.Name()
	}
	return t.String()
}

func joinGaps(gs []methodGap) string {
	parts := make([]string, 0, len(gs))
	for _, g := range gs {
		parts = append(parts, g.String())
	}
	return strings.Join(parts, ", ")
}

// nearly reports whether t looks meant to implement iface but falls short:
// every method is there at least by name (any letter case), or at least
// half of them are there exactly. With loose set (a type that implements
// no kind at all), one method of the right name is enough.
func nearly(missing []methodGap, matched int, total int, loose bool) bool {
	if len(missing) == 0 {
		return false
	}
	byName := matched
	for _, g := range missing {
		if g.has != nil {
			byName++
		}
	}
	return byName == total || 2*matched >= total || (loose && byName > 0)
}

// checkImplementation explains what p fails to implement that it seems to
// mean to, and checks the capabilities a description lists by hand.
func checkImplementation(name string, p any, listed []Capability) error {
	t := reflect.TypeOf(p)
	var kinds []string
	for _, k := range kindInterfaces {
		if t.Implements(k.typ) {
			kinds = append(kinds, k.name)
		}
	}
	var problems []string
	for _, k := range kindInterfaces {
		if t.Implements(k.typ) {
			continue
		}
		missing, matched := gaps(t, k.typ)
		if !nearly(missing, matched, k.typ.NumMethod(), len(kinds) == 0) {
			continue
		}
		problems = append(problems, fmt.Sprintf("%s implements %s except %s", t, k.name, joinGaps(missing))+pointerHint(t, k.typ))
	}
	if t.Implements(kindInterfaces[0].typ) {
		for _, c := range capabilityInterfaces {
			if t.Implements(c.typ) {
				continue
			}
			missing, matched := gaps(t, c.typ)
			if !nearly(missing, matched, c.typ.NumMethod(), true) {
				continue
			}
			problems = append(problems, fmt.Sprintf("%s does not implement %s (capability %s): it lacks %s; fix the method, or the capability is not offered",
				t, c.name, c.capability, joinGaps(missing)))
		}
	}
	for _, c := range listed {
		i := -1
		for j, ci := range capabilityInterfaces {
			if ci.capability == c {
				i = j
			}
		}
		switch {
		case i < 0:
			problems = append(problems, fmt.Sprintf("Description.Capabilities lists %q, which is no capability of this SDK", c))
		case !t.Implements(capabilityInterfaces[i].typ):
			ci := capabilityInterfaces[i]
			missing, _ := gaps(t, ci.typ)
			problems = append(problems, fmt.Sprintf("Description.Capabilities lists %s, but %s does not implement sdk.%s (lacks %s); capabilities are derived from the interfaces a plugin implements, so leave Capabilities empty",
				c, t, ci.name, joinGaps(missing)))
		}
	}
	if len(kinds) == 0 && len(problems) == 0 {
		return fmt.Errorf("sdk: plugin %s: %s implements no plugin kind (Provisioner, Notifier, PaymentGateway, Community, Monitor, Assistant, Helpdesk, PricingSource)%s",
			name, t, pointerHintAny(t))
	}
	if len(problems) > 0 {
		prefix := fmt.Sprintf("sdk: plugin %s: ", name)
		if len(kinds) == 0 {
			prefix = fmt.Sprintf("sdk: plugin %s implements no plugin kind: ", name)
		}
		return fmt.Errorf("%s%s", prefix, strings.Join(problems, "; "))
	}
	return nil
}

// pointerHint says when the pointer type would implement iface: Serve was
// given a value whose methods have pointer receivers.
func pointerHint(t, iface reflect.Type) string {
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(iface) {
		return fmt.Sprintf(" (but *%s does: pass a pointer to Serve)", t)
	}
	return ""
}

func pointerHintAny(t reflect.Type) string {
	for _, k := range kindInterfaces {
		if h := pointerHint(t, k.typ); h != "" {
			return h
		}
	}
	return ""
}
