// Package conformance checks a plugin against the contract of its kind, so a
// third-party author can prove a plugin correct in `go test`:
//
//	func TestConformance(t *testing.T) {
//		h := plugintest.New(t, newPlugin(), plugintest.WithConfig(cfg))
//		conformance.Notifier(t, h, conformance.NotifierFixture{Message: msg})
//	}
//
// Each suite runs subtests against the plugin served by a plugintest
// Harness: the description is consistent (kinds, capabilities, schema),
// lifecycle calls are idempotent per key and refused without one,
// capabilities not described answer NotSupported, errors have the documented
// kinds. Point the plugin at a fake of its backend for these tests.
//
// Public API, append-only: suites gain checks over time, which can fail a
// plugin that was relying on unspecified behaviour; fixtures gain optional
// fields only.
package conformance
