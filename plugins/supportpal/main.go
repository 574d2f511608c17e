// Command ezscale-plugin-supportpal is EZSCALE's SupportPal helpdesk
// plugin. It opens a ticket for a customer (finding or creating the
// SupportPal user by email) in the configured department, priority and
// status, posts the customer's later messages, and reports tickets' status
// and operator replies, which the core polls for (SupportPal has no
// webhooks). The core starts it; run it with the argument "describe" to
// print its config schema.
package main

import "github.com/ezscale/platform/sdk"

func main() { sdk.Serve(New()) }
