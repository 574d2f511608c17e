package policy

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Result is the set of types a rule may evaluate to.
type Result interface {
	bool | int | int64 | float64 | string
}

// Option configures Compile.
type Option func(*options)

type options struct {
	limits Limits
}

// WithLimits sets the limits of the program; zero fields keep their default.
func WithLimits(l Limits) Option {
	return func(o *options) { o.limits = l }
}

// Program is a compiled rule over environments of type Env, returning Out.
// It is immutable and safe for concurrent use.
type Program[Env any, Out Result] struct {
	src    string
	prog   *vm.Program
	limits Limits
	shape  *shape
	cost   int64
}

// Compile checks src against the environment type Env and the result type
// Out and compiles it. Env must be a struct of plain data whose exported
// fields carry an `expr` tag (see docs/policy.md).
//
// A problem with the rule is an *Error carrying its position; a problem with
// Env itself (a programming error) is a plain error.
func Compile[Env any, Out Result](src string, opts ...Option) (p *Program[Env, Out], err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	l := o.limits.withDefaults()
	sh, err := shapeFor(reflect.TypeFor[Env]())
	if err != nil {
		return nil, err
	}
	if perr := precheck(src, l); perr != nil {
		return nil, perr
	}
	defer func() {
		// expr is not meant to panic on any input; if it does, the rule is
		// refused rather than the process taken down.
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("policy: compiling %q: internal error: %v", src, r)
		}
	}()
	var zeroEnv Env
	var zeroOut Out
	cfg := conf.CreateNew()
	for _, opt := range []expr.Option{expr.Env(zeroEnv), resultOption(zeroOut), expr.MaxNodes(l.MaxNodes)} {
		opt(cfg)
	}
	for name := range cfg.Builtins {
		if !iterating[name] && !scalarBuiltins[name] {
			cfg.Disabled[name] = true
			delete(cfg.Builtins, name)
		}
	}
	cfg.Check()

	tree, err := parser.ParseWithConfig(src, cfg)
	if err != nil {
		return nil, fromExpr(src, err)
	}
	if r := restrict(tree.Node, l); r != nil {
		return nil, errorAt(src, r.node.Location().From, "%s", r.msg)
	}
	// The result type is checked here rather than by expr, whose message
	// has no position.
	expect := cfg.Expect
	cfg.Expect = reflect.Invalid
	got, err := checker.Check(tree, cfg)
	cfg.Expect = expect
	if err != nil {
		return nil, fromExpr(src, err)
	}
	if !resultFits(got, reflect.TypeFor[Out]()) {
		return nil, errorAt(src, 0, "the rule must evaluate to %s, but this one evaluates to %s",
			typeName(reflect.TypeFor[Out]()), typeName(got))
	}
	cost, r := measure(tree.Node, l)
	if r != nil {
		return nil, errorAt(src, r.node.Location().From, "%s", r.msg)
	}
	if _, r := memoryBound(tree.Node, l); r != nil {
		return nil, errorAt(src, r.node.Location().From, "%s", r.msg)
	}
	if err := optimizer.Optimize(&tree.Node, cfg); err != nil {
		return nil, fromExpr(src, err)
	}
	prog, err := compiler.Compile(tree, cfg)
	if err != nil {
		return nil, fromExpr(src, err)
	}
	return &Program[Env, Out]{src: src, prog: prog, limits: l, shape: sh, cost: cost}, nil
}

// precheck refuses what must not reach the parser: an empty, oversized or
// non-UTF-8 source.
func precheck(src string, l Limits) *Error {
	if len(src) > l.MaxSourceLen {
		return errorAtByte(src, l.MaxSourceLen, "the expression is %d bytes long, the limit is %d", len(src), l.MaxSourceLen)
	}
	if !utf8.ValidString(src) {
		off := 0
		for off < len(src) {
			r, size := utf8.DecodeRuneInString(src[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return errorAtByte(src, off, "the expression is not valid UTF-8")
	}
	if strings.TrimSpace(src) == "" {
		return &Error{Line: 1, Column: 1, Snippet: snippet("", 1), Msg: "the expression is empty"}
	}
	return nil
}

func resultOption(out any) expr.Option {
	switch out.(type) {
	case bool:
		return expr.AsBool()
	case int:
		return expr.AsInt()
	case int64:
		return expr.AsInt64()
	case float64:
		return expr.AsFloat64()
	default: // string
		return expr.AsKind(reflect.String)
	}
}

// resultFits reports whether a rule of type got may return want. An untyped
// rule (an $env lookup, nil) is let through to Eval, which checks the value.
func resultFits(got, want reflect.Type) bool {
	switch {
	case got == nil || got.Kind() == reflect.Interface:
		return true
	case want.Kind() == reflect.Bool:
		return got.Kind() == reflect.Bool
	case want.Kind() == reflect.String:
		return got.Kind() == reflect.String
	default: // the compiler converts between numbers
		return isNumber(got)
	}
}

var shapes sync.Map // reflect.Type → *shape or error

func shapeFor(t reflect.Type) (*shape, error) {
	if v, ok := shapes.Load(t); ok {
		if err, isErr := v.(error); isErr {
			return nil, err
		}
		return v.(*shape), nil
	}
	s, err := shapeOf(t)
	if err != nil {
		shapes.Store(t, err)
		return nil, err
	}
	shapes.Store(t, s)
	return s, nil
}

// Source returns the rule as written.
func (p *Program[Env, Out]) Source() string { return p.src }

// Cost returns the static cost of one evaluation, in steps: an upper bound,
// at most the MaxCost of the limits it was compiled with.
func (p *Program[Env, Out]) Cost() int64 { return p.cost }

// Limits returns the limits the program was compiled with.
func (p *Program[Env, Out]) Limits() Limits { return p.limits }

var machines = sync.Pool{New: func() any { return new(vm.VM) }}

// Eval evaluates the rule over env. It fails with an *Error when a string,
// slice or map of env is over its limit (Line 0), or when the rule fails on
// this data (a division by zero, an index out of range, the memory budget).
func (p *Program[Env, Out]) Eval(env Env) (Out, error) {
	var zero Out
	// Boxed once for both the size check and the VM. (A pointer would be
	// one copy too, but the VM then allocates on every field it reads.)
	var boxed any = env
	if p.shape.check != nil {
		if err := p.shape.check(reflect.ValueOf(boxed), p.limits); err != nil {
			return zero, &Error{Msg: err.Error()}
		}
	}
	m := machines.Get().(*vm.VM)
	m.MemoryBudget = p.limits.MemoryBudget
	out, err := m.Run(p.prog, boxed)
	machines.Put(m)
	if err != nil {
		return zero, fromExpr(p.src, err)
	}
	if v, ok := out.(Out); ok {
		return v, nil
	}
	// A named type of the environment (type Tier string) comes back as
	// itself.
	want := reflect.TypeFor[Out]()
	if rv := reflect.ValueOf(out); rv.IsValid() && rv.Kind() == want.Kind() {
		return rv.Convert(want).Interface().(Out), nil
	}
	return zero, errorAt(p.src, 0, "the rule returned %s, not %T", describe(out), zero)
}

func describe(v any) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("%T", v)
}
