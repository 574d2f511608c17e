package policy

import "fmt"

// Limits bound a rule's source, its syntax tree, the work of one evaluation
// and the size of the environment it is evaluated over. The zero value of a
// field means "the default" (DefaultLimits), never "unlimited".
type Limits struct {
	// MaxSourceLen is the longest accepted source, in bytes.
	MaxSourceLen int
	// MaxNodes is the largest accepted syntax tree (expr.MaxNodes).
	MaxNodes uint
	// MaxCost is the largest accepted static cost of one evaluation, in
	// steps (see the cost model in docs/policy.md).
	MaxCost int64
	// MemoryBudget is the expr VM's allocation budget per evaluation, in its
	// units (roughly: elements of the lists and maps a program builds).
	MemoryBudget uint
	// MaxSliceLen is the longest slice an environment may hold, and the
	// longest list literal or range a rule may write.
	MaxSliceLen int
	// MaxMapLen is the largest map an environment may hold, and the largest
	// map literal a rule may write.
	MaxMapLen int
	// MaxStringLen is the longest string an environment may hold, in bytes.
	MaxStringLen int
}

// DefaultLimits are the limits of a kind registered without WithLimits.
//
// A step is about 10ns, so they keep the worst-case evaluation of any
// accepted rule to about 10ms on one core (BenchmarkEvalWorstCase measures
// it): a rule is a short condition over one record, not a program.
func DefaultLimits() Limits {
	return Limits{
		MaxSourceLen: 4096,
		MaxNodes:     512,
		MaxCost:      1_000_000,
		MemoryBudget: 100_000,
		MaxSliceLen:  100,
		MaxMapLen:    100,
		MaxStringLen: 1024,
	}
}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxSourceLen <= 0 {
		l.MaxSourceLen = d.MaxSourceLen
	}
	if l.MaxNodes == 0 {
		l.MaxNodes = d.MaxNodes
	}
	if l.MaxCost <= 0 {
		l.MaxCost = d.MaxCost
	}
	if l.MemoryBudget == 0 {
		l.MemoryBudget = d.MemoryBudget
	}
	if l.MaxSliceLen <= 0 {
		l.MaxSliceLen = d.MaxSliceLen
	}
	if l.MaxMapLen <= 0 {
		l.MaxMapLen = d.MaxMapLen
	}
	if l.MaxStringLen <= 0 {
		l.MaxStringLen = d.MaxStringLen
	}
	return l
}

// String renders l for logs and docs.
func (l Limits) String() string {
	return fmt.Sprintf("source %d bytes, %d nodes, cost %d, memory %d, slices %d, maps %d, strings %d bytes",
		l.MaxSourceLen, l.MaxNodes, l.MaxCost, l.MemoryBudget, l.MaxSliceLen, l.MaxMapLen, l.MaxStringLen)
}

// The cost of work on strings, in steps of about 10ns (see cost.go). An
// environment string is at most MaxStringLen bytes; literal operands add
// their own length.

// scanCost is a comparison or search: about 16 bytes per step (strings of
// a large environment are rarely in the CPU's cache).
func (l Limits) scanCost(literalLen int) int64 {
	return 1 + int64(l.MaxStringLen+literalLen)/16
}

// transformCost is building a new string rune by rune (upper, lower): about
// 2 bytes per step.
func (l Limits) transformCost(literalLen int) int64 {
	return 1 + int64(l.MaxStringLen+literalLen)/2
}

// matchCost is a regular expression of insts instructions: RE2 runs in time
// proportional to the input times the program, about one step per two bytes
// and instructions.
func (l Limits) matchCost(insts int) int64 {
	return 1 + int64(l.MaxStringLen)*int64(insts)/2
}
