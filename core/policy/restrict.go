package policy

import (
	"fmt"
	"math"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
)

// iterating are the builtins that run a predicate over a list. Each costs
// the length of the list times the cost of its predicate (see cost.go).
// groupBy, sortBy and reduce are left out: reduce's accumulator can grow
// without a bound the cost model can see, and rules have no use for the
// others.
var iterating = map[string]bool{
	"all": true, "none": true, "any": true, "one": true,
	"filter": true, "map": true, "count": true, "sum": true,
	"find": true, "findIndex": true, "findLast": true, "findLastIndex": true,
}

// scalarBuiltins are the other builtins rules may call: each does a bounded
// amount of work on its arguments. Left out: anything that reads the clock
// (rules must give the same answer for the same input), builds a string or
// list larger than its input (repeat, join, split, replace, concat, flatten,
// string, toJSON…), or sorts.
var scalarBuiltins = map[string]bool{
	"len": true, "abs": true, "ceil": true, "floor": true, "round": true,
	"int": true, "float": true, "max": true, "min": true, "first": true, "last": true,
	"trim": true, "trimPrefix": true, "trimSuffix": true, "upper": true, "lower": true,
	"indexOf": true, "lastIndexOf": true, "hasPrefix": true, "hasSuffix": true,
}

// stringBuiltins are the scalarBuiltins that work through a string.
var stringBuiltins = map[string]bool{
	"trim": true, "trimPrefix": true, "trimSuffix": true, "upper": true, "lower": true,
	"indexOf": true, "lastIndexOf": true, "hasPrefix": true, "hasSuffix": true,
	"int": true, "float": true,
}

// Builtins lists the builtin functions rules may call, for documentation.
func Builtins() []string {
	var names []string
	for _, f := range builtin.Builtins {
		if iterating[f.Name] || scalarBuiltins[f.Name] {
			names = append(names, f.Name)
		}
	}
	return names
}

// operators are the binary operators rules may use. "+" is further limited
// to numbers once types are known (cost.go).
var operators = map[string]bool{
	"==": true, "!=": true, "<": true, ">": true, "<=": true, ">=": true,
	"+": true, "-": true, "*": true, "/": true, "%": true, "**": true, "^": true,
	"and": true, "&&": true, "or": true, "||": true, "??": true,
	"in": true, "contains": true, "startsWith": true, "endsWith": true, "matches": true,
	"..": true,
}

// restriction is a construct the policy language leaves out, at a node.
type restriction struct {
	node ast.Node
	msg  string
}

// restrict walks the parsed tree (before type checking, so the message names
// the construct rather than an unknown function) and returns the first
// construct outside the policy language, in source order.
func restrict(n ast.Node, l Limits) *restriction {
	if n == nil {
		return nil
	}
	bad := func(format string, args ...any) *restriction {
		return &restriction{node: n, msg: fmt.Sprintf(format, args...)}
	}
	switch n := n.(type) {
	case *ast.NilNode, *ast.IdentifierNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode,
		*ast.StringNode, *ast.BytesNode, *ast.ConstantNode, *ast.PointerNode:
		if p, ok := n.(*ast.PointerNode); ok && p.Name == "acc" {
			return bad("#acc is only meaningful in reduce, which rules cannot use")
		}
		return nil
	case *ast.UnaryNode:
		return restrict(n.Node, l)
	case *ast.BinaryNode:
		if !operators[n.Operator] {
			return bad("the operator %s is not allowed in rules", n.Operator)
		}
		switch n.Operator {
		case "matches":
			if _, ok := n.Right.(*ast.StringNode); !ok {
				return &restriction{node: n.Right, msg: "the pattern of matches must be a string literal"}
			}
		case "..":
			size, r := rangeLen(n)
			if r != nil {
				return r
			}
			if size > int64(l.MaxSliceLen) {
				return bad("the range has %d elements, the limit is %d", size, l.MaxSliceLen)
			}
		}
		if r := restrict(n.Left, l); r != nil {
			return r
		}
		return restrict(n.Right, l)
	case *ast.ChainNode:
		return restrict(n.Node, l)
	case *ast.MemberNode:
		if n.Method {
			return bad("method calls are not allowed in rules")
		}
		if r := restrict(n.Node, l); r != nil {
			return r
		}
		return restrict(n.Property, l)
	case *ast.SliceNode:
		for _, c := range []ast.Node{n.Node, n.From, n.To} {
			if r := restrict(c, l); r != nil {
				return r
			}
		}
		return nil
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			if _, known := builtin.Index[id.Value]; known {
				return bad("%s() is not allowed in rules", id.Value)
			}
			return bad("unknown function %s()", id.Value)
		}
		return bad("method calls are not allowed in rules")
	case *ast.BuiltinNode:
		if !iterating[n.Name] && !scalarBuiltins[n.Name] {
			return bad("%s() is not allowed in rules", n.Name)
		}
		return restrictAll(n.Arguments, l)
	case *ast.PredicateNode:
		return restrict(n.Node, l)
	case *ast.ConditionalNode:
		return restrictAll([]ast.Node{n.Cond, n.Exp1, n.Exp2}, l)
	case *ast.VariableDeclaratorNode:
		return bad("let is not allowed in rules: a rule is one expression")
	case *ast.SequenceNode:
		if len(n.Nodes) > 1 {
			return &restriction{node: n.Nodes[1], msg: "sequences (;) are not allowed in rules: a rule is one expression"}
		}
		return restrictAll(n.Nodes, l)
	case *ast.ArrayNode:
		if len(n.Nodes) > l.MaxSliceLen {
			return bad("the list has %d elements, the limit is %d", len(n.Nodes), l.MaxSliceLen)
		}
		return restrictAll(n.Nodes, l)
	case *ast.MapNode:
		if len(n.Pairs) > l.MaxMapLen {
			return bad("the map has %d entries, the limit is %d", len(n.Pairs), l.MaxMapLen)
		}
		return restrictAll(n.Pairs, l)
	case *ast.PairNode:
		return restrictAll([]ast.Node{n.Key, n.Value}, l)
	default:
		return bad("this construct (%T) is not allowed in rules", n)
	}
}

func restrictAll(nodes []ast.Node, l Limits) *restriction {
	for _, c := range nodes {
		if r := restrict(c, l); r != nil {
			return r
		}
	}
	return nil
}

// rangeLen returns the number of elements of a range a..b whose bounds are
// integer literals; a range over computed bounds is refused because its size
// would only be known when it runs.
func rangeLen(n *ast.BinaryNode) (int64, *restriction) {
	from, ok1 := intLiteral(n.Left)
	to, ok2 := intLiteral(n.Right)
	if !ok1 || !ok2 {
		return 0, &restriction{node: n, msg: "the bounds of a range must be integer literals"}
	}
	if to < from {
		return 0, nil
	}
	// to-from may overflow int64; as unsigned it cannot.
	diff := uint64(to) - uint64(from)
	if diff >= math.MaxInt64 {
		return math.MaxInt64, nil
	}
	return int64(diff) + 1, nil
}

// intLiteral returns the value of an integer literal, negative or not.
func intLiteral(n ast.Node) (int64, bool) {
	switch n := n.(type) {
	case *ast.IntegerNode:
		return int64(n.Value), true
	case *ast.UnaryNode:
		if n.Operator == "-" {
			if v, ok := n.Node.(*ast.IntegerNode); ok {
				return -int64(v.Value), true
			}
		}
	}
	return 0, false
}
