package policy

import (
	"fmt"

	"github.com/expr-lang/expr/ast"
)

// The expr VM counts what an evaluation allocates against MemoryBudget and
// fails the evaluation once the count reaches it: every element of a list
// or map literal, of a range, and of the list filter() or map() builds, in
// every pass of an enclosing predicate (the count only grows). A rule that
// passed the cost check could still allocate past the budget on every
// evaluation (all(1..1000, len([#, #, …]) > 0)), so the compiler bounds that
// count statically too, like the cost: an upper bound over any environment
// within the limits, computed on the tree before expr's optimizer (which
// only ever removes allocations).

// memoryBound returns the restriction of a rule that may allocate up to the
// memory budget in one evaluation, or nil, with the bound.
func memoryBound(n ast.Node, l Limits) (int64, *restriction) {
	m := &memory{coster: coster{l: l}}
	total := m.of(n)
	if m.culprit == nil {
		return total, nil
	}
	if b, ok := m.culprit.(*ast.BuiltinNode); ok && iterating[b.Name] {
		return total, &restriction{node: m.culprit, msg: fmt.Sprintf(
			"%s() over up to %d elements may build lists of %d elements in all, the memory limit is %d",
			b.Name, m.length(b.Arguments[0]), m.worst, l.MemoryBudget)}
	}
	return total, &restriction{node: m.culprit, msg: fmt.Sprintf(
		"the expression may build lists of %d elements in all, the memory limit is %d", m.worst, l.MemoryBudget)}
}

// memory computes the bound; it borrows the coster's list lengths. The
// first node (innermost, in evaluation order) whose bound alone reaches
// the budget is remembered so the error can point at it.
type memory struct {
	coster
	culprit ast.Node
	worst   int64
}

func (m *memory) of(n ast.Node) int64 {
	if n == nil {
		return 0
	}
	v := m.own(n)
	if v >= int64(m.l.MemoryBudget) && m.culprit == nil {
		m.culprit, m.worst = n, v
	}
	return v
}

func (m *memory) sum(nodes ...ast.Node) int64 {
	var v int64
	for _, n := range nodes {
		v = add(v, m.of(n))
	}
	return v
}

func (m *memory) own(n ast.Node) int64 {
	switch n := n.(type) {
	case *ast.UnaryNode:
		return m.of(n.Node)
	case *ast.BinaryNode:
		v := m.sum(n.Left, n.Right)
		if n.Operator == ".." {
			size, _ := rangeLen(n)
			v = add(v, size)
		}
		return v
	case *ast.ChainNode:
		return m.of(n.Node)
	case *ast.MemberNode:
		return m.sum(n.Node, n.Property)
	case *ast.SliceNode:
		return m.sum(n.Node, n.From, n.To)
	case *ast.BuiltinNode:
		if !iterating[n.Name] {
			return m.sum(n.Arguments...)
		}
		list := n.Arguments[0]
		var body int64
		if len(n.Arguments) > 1 {
			body = m.of(n.Arguments[1])
		}
		v := add(m.of(list), mul(m.length(list), body))
		if n.Name == "filter" || n.Name == "map" {
			v = add(v, m.length(list)) // the list it returns
		}
		return v
	case *ast.PredicateNode:
		return m.of(n.Node)
	case *ast.ConditionalNode:
		return add(m.of(n.Cond), max(m.of(n.Exp1), m.of(n.Exp2)))
	case *ast.SequenceNode:
		return m.sum(n.Nodes...)
	case *ast.ArrayNode:
		return add(int64(len(n.Nodes)), m.sum(n.Nodes...))
	case *ast.MapNode:
		return add(int64(len(n.Pairs)), m.sum(n.Pairs...))
	case *ast.PairNode:
		return m.sum(n.Key, n.Value)
	default: // identifiers, literals, pointers: nothing is built
		return 0
	}
}
