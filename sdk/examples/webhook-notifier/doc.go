// Command webhook-notifier is "your first plugin": a complete notifier that
// POSTs each message as JSON to a configured URL. Read it top to bottom —
// plugin.go is the whole plugin, main.go is one line, and plugin_test.go
// proves it correct with the SDK's harness and conformance suite.
//
// Build it as ezscale-plugin-webhook and try:
//
//	go build -o ezscale-plugin-webhook .
//	./ezscale-plugin-webhook describe      # prints the description as JSON
//	ezscale plugins check ./ezscale-plugin-webhook
package main
