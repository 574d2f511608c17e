package policy

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// The kinds of rule the platform knows. Each is registered, with its
// environment, by the package that evaluates it.
const (
	// KindBudget decides budget alerts and which services a budget hard stop
	// may suspend (core/billing).
	KindBudget = "budget"
	// KindSegment selects accounts for a segment (campaigns, reports).
	KindSegment = "segment"
	// KindHighRisk decides whether an action needs a second approver.
	KindHighRisk = "high_risk"
)

// Kind describes a registered kind of rule: its name, what it decides, its
// environment and its limits. It is what documentation and tooling list.
type Kind struct {
	Name string `json:"name"`
	Doc  string `json:"doc"`
	// Env is the Go type of the environment, for developers.
	Env string `json:"env"`
	// Result is what a rule of this kind evaluates to (bool, int, float, string).
	Result string  `json:"result"`
	Fields []Field `json:"fields"`
	Limits Limits  `json:"limits"`

	check func(src string) error
}

// Check compiles src as a rule of this kind and returns the compile error,
// for tools that only have the kind's name.
func (k Kind) Check(src string) error { return k.check(src) }

// RuleKind is the typed handle of a registered kind: the way to compile its
// rules.
type RuleKind[Env any, Out Result] struct {
	info Kind
	opts []Option
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Kind{}
	kindName   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Register records a kind of rule over Env returning Out. It is meant for
// package-level variables: it panics when name is taken or malformed, or Env
// is not a valid environment type, because each is a programming error that
// must fail at start-up, not when the first rule is saved.
func Register[Env any, Out Result](name, doc string, opts ...Option) *RuleKind[Env, Out] {
	if !kindName.MatchString(name) {
		panic(fmt.Sprintf("policy: kind name %q is not lower_snake_case", name))
	}
	sh, err := shapeFor(reflect.TypeFor[Env]())
	if err != nil {
		panic(err)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var out Out
	k := &RuleKind[Env, Out]{opts: opts, info: Kind{
		Name:   name,
		Doc:    doc,
		Env:    reflect.TypeFor[Env]().String(),
		Result: typeName(reflect.TypeOf(out)),
		Fields: slices.Clone(sh.fields),
		Limits: o.limits.withDefaults(),
	}}
	k.info.check = func(src string) error {
		_, err := k.Compile(src)
		return err
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, taken := registry[name]; taken {
		panic(fmt.Sprintf("policy: kind %q is registered twice", name))
	}
	registry[name] = k.info
	return k
}

// Compile compiles src as a rule of this kind.
func (k *RuleKind[Env, Out]) Compile(src string) (*Program[Env, Out], error) {
	p, err := Compile[Env, Out](src, k.opts...)
	if err != nil {
		if perr, ok := err.(*Error); ok {
			return nil, perr
		}
		return nil, fmt.Errorf("policy: kind %s: %w", k.info.Name, err)
	}
	return p, nil
}

// Info describes the kind.
func (k *RuleKind[Env, Out]) Info() Kind { return k.info }

// Lookup returns the registered kind called name.
func Lookup(name string) (Kind, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	k, ok := registry[name]
	return k, ok
}

// Kinds returns the registered kinds sorted by name.
func Kinds() []Kind {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]Kind, 0, len(registry))
	for _, k := range registry {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Kind) int { return strings.Compare(a.Name, b.Name) })
	return out
}
