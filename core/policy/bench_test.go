package policy

import (
	"testing"
)

const benchRule = `spend_percent >= 80 && service_type in ["game", "vps"] && !hard_stop`

// BenchmarkCompile measures compiling a typical budget rule at save time:
// parse, restriction check, type check, cost bound, optimise, bytecode.
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile[testEnv, bool](benchRule); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEval measures evaluating that rule over a typical environment,
// input size check included.
func BenchmarkEval(b *testing.B) {
	p, err := Compile[testEnv, bool](benchRule)
	if err != nil {
		b.Fatal(err)
	}
	env := sampleEnv()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Eval(env); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(p.Cost()), "steps")
}

// BenchmarkEvalWorstCase measures rules whose static cost is close to the
// default limit over the heaviest environment the limits allow (every
// string, list and map full): ns/op is the worst-case evaluation time a rule
// author can reach, steps the static cost, ns/step the calibration of the
// cost model (aimed at about 10).
func BenchmarkEvalWorstCase(b *testing.B) {
	env := fullEnv(DefaultLimits())
	env.ServiceType = env.ServiceType[:len(env.ServiceType)-1] + "!" // in no list: no early exit
	rules := map[string]string{
		"nested-any-compare":  `any(services, any(.tags, # == service_type))`,
		"nested-in":           `any(services, service_type in .tags)`,
		"nested-contains":     `any(services, any(.tags, # contains service_type))`,
		"nested-upper":        `any(tags, upper(#) == service_type)`,
		"nested-matches":      `any(tags, # matches "^x*y$")`,
		"nested-struct-field": `any(services, any(services, .price > 1000 && .excluded))`,
		"nested-arithmetic":   `any(services, any(.tags, spend + limit * 2 < 0 || spend_percent > 1000))`,
	}
	for name, src := range rules {
		b.Run(name, func(b *testing.B) {
			p, err := Compile[testEnv, bool](src)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Eval(env); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(p.Cost()), "steps")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(p.Cost()), "ns/step")
		})
	}
}
