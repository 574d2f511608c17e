// Command ezscale-plugin-stripe is EZSCALE's payment gateway plugin for
// Stripe: customers, saved payment methods, off-session charges, refunds and
// verified webhook events. The core starts it; run it with the argument
// "describe" to print its description and config schema.
package main

import "github.com/ezscale/platform/sdk"

func main() { sdk.Serve(New()) }
