package policy

import (
	"fmt"
	"reflect"
	"regexp/syntax"

	"github.com/expr-lang/expr/ast"
)

// costCap keeps cost arithmetic far from overflow: anything above it is
// refused anyway.
const costCap int64 = 1 << 50

func add(a, b int64) int64 { return min(a+b, costCap) }

func mul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > costCap/b {
		return costCap
	}
	return min(a*b, costCap)
}

// coster computes the static cost of a type-checked tree: an upper bound on
// the steps one evaluation may take, whatever the environment holds within
// its limits. A step is one VM operation, about 10ns (see
// BenchmarkEvalWorstCase), or about 16 bytes of work on a string. The first node (innermost, in evaluation order) whose cost alone
// is over the limit is remembered so the error can point at it.
type coster struct {
	l       Limits
	culprit ast.Node
	worst   int64
	err     *restriction
}

// measure returns the cost of the tree rooted at n, or the restriction that
// only types can reveal (string concatenation).
func measure(n ast.Node, l Limits) (int64, *restriction) {
	c := &coster{l: l}
	total := c.cost(n)
	if c.err != nil {
		return 0, c.err
	}
	if c.culprit != nil {
		return total, c.overLimit()
	}
	return total, nil
}

func (c *coster) overLimit() *restriction {
	if b, ok := c.culprit.(*ast.BuiltinNode); ok && iterating[b.Name] {
		return &restriction{node: c.culprit, msg: fmt.Sprintf(
			"%s() over up to %d elements may take %d steps, the limit is %d",
			b.Name, c.length(b.Arguments[0]), c.worst, c.l.MaxCost)}
	}
	return &restriction{node: c.culprit, msg: fmt.Sprintf(
		"the expression may take %d steps, the limit is %d", c.worst, c.l.MaxCost)}
}

func (c *coster) cost(n ast.Node) int64 {
	if n == nil {
		return 0
	}
	v := c.own(n)
	if v > c.l.MaxCost && c.culprit == nil {
		c.culprit, c.worst = n, v
	}
	return v
}

func (c *coster) sum(nodes ...ast.Node) int64 {
	var v int64
	for _, n := range nodes {
		v = add(v, c.cost(n))
	}
	return v
}

func (c *coster) own(n ast.Node) int64 {
	switch n := n.(type) {
	case *ast.UnaryNode:
		return add(1, c.cost(n.Node))
	case *ast.BinaryNode:
		return add(c.binary(n), c.sum(n.Left, n.Right))
	case *ast.ChainNode:
		return add(1, c.cost(n.Node))
	case *ast.MemberNode:
		// Fields are fetched by reflection, about two steps.
		return add(2, c.sum(n.Node, n.Property))
	case *ast.SliceNode:
		return add(1, c.sum(n.Node, n.From, n.To))
	case *ast.BuiltinNode:
		return c.builtin(n)
	case *ast.PredicateNode:
		return c.cost(n.Node)
	case *ast.ConditionalNode:
		return add(add(1, c.cost(n.Cond)), max(c.cost(n.Exp1), c.cost(n.Exp2)))
	case *ast.SequenceNode:
		return add(1, c.sum(n.Nodes...))
	case *ast.ArrayNode:
		return add(int64(1+len(n.Nodes)), c.sum(n.Nodes...))
	case *ast.MapNode:
		return add(int64(1+len(n.Pairs)), c.sum(n.Pairs...))
	case *ast.PairNode:
		return c.sum(n.Key, n.Value)
	case *ast.IdentifierNode:
		return 2 // a field of the environment, fetched by reflection
	default: // literals, pointers
		return 1
	}
}

func (c *coster) binary(n *ast.BinaryNode) int64 {
	lt, rt := n.Left.Type(), n.Right.Type()
	switch n.Operator {
	case "+":
		if !isNumber(lt) || !isNumber(rt) {
			if c.err == nil {
				c.err = &restriction{node: n, msg: fmt.Sprintf(
					"+ adds numbers only (here %s and %s): rules cannot build strings or lists", typeName(lt), typeName(rt))}
			}
		}
		return 1
	case "..":
		size, _ := rangeLen(n)
		return add(1, size)
	case "in":
		switch kind(rt) {
		case reflect.Slice, reflect.Array, reflect.Interface:
			// Each element is boxed and compared through reflection.
			return add(1, mul(c.length(n.Right), add(2, c.weight(lt))))
		default: // a map or struct lookup
			return add(1, c.weight(lt))
		}
	case "==", "!=", "<", ">", "<=", ">=":
		// A comparison stops at the end of the smaller operand (values of
		// different types compare unequal at once).
		return add(1, min(c.weight(lt), c.weight(rt)))
	case "contains", "startsWith", "endsWith":
		return c.l.scanCost(literalLen(n.Left) + literalLen(n.Right))
	case "matches":
		return c.l.matchCost(regexpSize(n.Right))
	default:
		return 1
	}
}

func (c *coster) builtin(n *ast.BuiltinNode) int64 {
	if iterating[n.Name] {
		list := n.Arguments[0]
		var body int64
		if len(n.Arguments) > 1 {
			body = c.cost(n.Arguments[1])
		}
		perElement := add(2, body)
		if kind(elemType(list.Type())) == reflect.Struct {
			perElement = add(perElement, 4) // each element is copied into an interface
		}
		return add(add(1, c.cost(list)), mul(c.length(list), perElement))
	}
	v := add(1, c.sum(n.Arguments...))
	switch {
	case n.Name == "max" || n.Name == "min":
		// Both walk any lists among their arguments, nested lists included.
		for _, a := range n.Arguments {
			v = add(v, c.weight(a.Type()))
		}
	case n.Name == "upper" || n.Name == "lower":
		v = add(v, c.l.transformCost(literalLen(n.Arguments[0])))
	case stringBuiltins[n.Name]:
		var lits int
		for _, a := range n.Arguments {
			lits += literalLen(a)
		}
		v = add(v, c.l.scanCost(lits))
	}
	return v
}

// length is an upper bound on the number of elements of the list n
// evaluates to: exact for literals and ranges, carried through filter, map,
// slicing and conditionals, and otherwise the limit on an environment's
// slices (or maps).
func (c *coster) length(n ast.Node) int64 {
	switch n := n.(type) {
	case *ast.ArrayNode:
		return int64(len(n.Nodes))
	case *ast.MapNode:
		return int64(len(n.Pairs))
	case *ast.BinaryNode:
		switch n.Operator {
		case "..":
			size, _ := rangeLen(n)
			return size
		case "??":
			return max(c.length(n.Left), c.length(n.Right))
		}
	case *ast.BuiltinNode:
		if n.Name == "filter" || n.Name == "map" {
			return c.length(n.Arguments[0])
		}
	case *ast.SliceNode:
		return c.length(n.Node)
	case *ast.ConditionalNode:
		return max(c.length(n.Exp1), c.length(n.Exp2))
	case *ast.ChainNode:
		return c.length(n.Node)
	}
	if kind(n.Type()) == reflect.Map {
		return int64(c.l.MaxMapLen)
	}
	return int64(max(c.l.MaxSliceLen, c.l.MaxMapLen))
}

// weight is the cost of comparing or walking a value of type t.
func (c *coster) weight(t reflect.Type) int64 {
	return c.weightDepth(t, 0)
}

func (c *coster) weightDepth(t reflect.Type, depth int) int64 {
	if depth > 8 {
		return costCap // deeper than any accepted environment type
	}
	switch kind(t) {
	case reflect.String:
		return c.l.scanCost(0)
	case reflect.Slice, reflect.Array:
		return mul(int64(c.l.MaxSliceLen), add(1, c.weightDepth(t.Elem(), depth+1)))
	case reflect.Map:
		return mul(int64(c.l.MaxMapLen), add(c.l.scanCost(0), c.weightDepth(t.Elem(), depth+1)))
	case reflect.Struct:
		v := int64(1)
		for f := range t.Fields() {
			v = add(v, c.weightDepth(f.Type, depth+1))
		}
		return v
	case reflect.Interface:
		// Only literals and $env lookups are untyped; a literal list of
		// strings is the heaviest thing they can hold.
		return mul(int64(c.l.MaxSliceLen), c.l.scanCost(0))
	default:
		return 1
	}
}

func elemType(t reflect.Type) reflect.Type {
	switch kind(t) {
	case reflect.Slice, reflect.Array, reflect.Map:
		return t.Elem()
	}
	return nil
}

func kind(t reflect.Type) reflect.Kind {
	if t == nil {
		return reflect.Interface
	}
	return t.Kind()
}

func isNumber(t reflect.Type) bool {
	switch kind(t) {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// regexpSize is the number of instructions of the RE2 program for the
// pattern literal n (the checker has compiled it once already, so it is
// valid).
func regexpSize(n ast.Node) int {
	s, ok := n.(*ast.StringNode)
	if !ok {
		return 1
	}
	re, err := syntax.Parse(s.Value, syntax.Perl)
	if err != nil {
		return 1
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 1
	}
	return len(prog.Inst)
}

// literalLen is the length of n when it is a string literal, else 0.
func literalLen(n ast.Node) int {
	if s, ok := n.(*ast.StringNode); ok {
		return len(s.Value)
	}
	return 0
}
