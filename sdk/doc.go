// Package sdk is the EZSCALE plugin SDK: the only package a plugin imports.
//
// A plugin is a separate program (binary ezscale-plugin-<name>) that the core
// starts and talks to over gRPC through hashicorp/go-plugin. A plugin
// implements Plugin (Describe, Configure, Health) plus one or more kind
// interfaces — Provisioner, Notifier, PaymentGateway, Community, Monitor,
// Assistant, Helpdesk, PricingSource — and calls Serve from main:
//
//	func main() { sdk.Serve(&myPlugin{}) }
//
// Serve derives the plugin's kinds and capabilities from the interfaces it
// implements, answers NotSupported for optional capabilities it lacks,
// validates configs against the schema from Describe, refuses lifecycle calls
// without an idempotency key, recovers panics, and encodes errors as the
// small set of ErrorKind values that cross the wire. It also implements the
// describe mode (`ezscale-plugin-x describe`), a debug/reattach mode, and
// exits when the core dies.
//
// The core uses the same interfaces: New*Client functions return a kind
// interface backed by a gRPC connection, so core code calls a plugin as a
// plain Go value and receives *Error values of the same kinds.
//
// A provisioner declares the option keys it reads from a service
// (Description.Options: types, limits, whether staff set them on plans or
// customers choose them at order) and reads them through Options.Parse; the
// core validates plans and orders against the declaration and passes no
// undeclared key.
//
// Request and response types are the generated messages of package
// pluginv1 (proto package ezscale.plugin.v1), so a field added to the
// protocol reaches plugins without a new interface.
//
// Testing: package plugintest runs a plugin in process over real gRPC;
// package conformance checks a plugin against the contract of its kind.
//
// Stability: everything exported here is public API, append-only. Methods
// and constants are never removed or changed; new behaviour arrives as new
// optional interfaces, new messages and new fields.
package sdk
