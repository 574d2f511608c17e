// Command acme-provisioner is a complete provisioner for "Acme Panel", a
// panel without idempotency keys (package acmepanel is its fake). It shows
// every pattern a provisioner needs: typed config (settings), an option
// declaration read through typed getters (options), durable idempotency
// with reconciliation (creates, find), states and PENDING (status), an
// idempotent Terminate, NotFound from GetInfo after Terminate, 204 answers
// (act), and interface guards. plugin_test.go proves it with the
// conformance suite, across restarts.
//
//	go build -o ezscale-plugin-acme .
//	go run ./cmd/acmepanel &                        # the fake panel on 127.0.0.1:9090
//	ezscale plugins conformance ./ezscale-plugin-acme --config acme.hcl
package main
