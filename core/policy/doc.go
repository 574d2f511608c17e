// Package policy compiles and evaluates rules written as expr expressions
// (github.com/expr-lang/expr) over a typed, plain-data environment: budget
// rules today, segment filters and high-risk (dual-approval) policies next.
//
// A rule is compiled once, when it is saved, against the Go type of its
// environment. Every problem found then (syntax, unknown names, type
// mismatches, a construct the policy language leaves out, a limit exceeded)
// is an *Error with the line and column of the offending token and a caret
// snippet, so an API can answer 400 with the position.
//
// Evaluation is bounded by construction, because a running expr program
// cannot be cancelled:
//
//   - the source length and the number of syntax nodes are limited;
//   - the language is restricted to operators and builtins whose cost is
//     known ahead of time: no function or method calls beyond an allow-list
//     of builtins, no variables (let), no string concatenation, constant
//     ranges and regular expressions only;
//   - every compiled program has a static cost (an upper bound on the work
//     of one evaluation, where iterating builtins multiply the cost of their
//     body by the longest list the environment may hold), refused above
//     Limits.MaxCost;
//   - the environment type is plain data (no methods, interfaces, pointers,
//     functions or channels), and each value handed to Eval is checked
//     against the size limits of its strings, slices and maps;
//   - the expr VM runs with a memory budget as a last line of defence.
//
// Rule kinds are registered once per process with Register, which names the
// kind, its environment type and its result type; the registry is what the
// documentation and tooling list. docs/policy.md describes the language,
// the environments and the limits for rule authors.
//
// Programs are safe for concurrent use.
package policy
