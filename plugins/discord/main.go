// Command ezscale-plugin-discord is EZSCALE's Discord plugin. As a notifier
// it posts admin alerts through a Discord webhook; as a community plugin it
// uses a bot to create single-use invites, sync a member's roles with what
// the customer has, and link a Discord user to an account. The core starts
// it; run it with the argument "describe" to print its config schema.
package main

import "github.com/ezscale/platform/sdk"

func main() { sdk.Serve(New()) }
