// Command ezscale-plugin-email is the EZSCALE notifier for the "email"
// channel: it delivers each rendered notification over SMTP as a multipart
// text+HTML message.
//
// Config:
//
//	plugin "email" {
//	  path = "bin/ezscale-plugin-email"
//	  config {
//	    host       = "smtp.example.com"
//	    port       = 587
//	    tls_policy = "mandatory"      # none | opportunistic | mandatory | implicit
//	    username   = "mailer"
//	    password   = env("SMTP_PASSWORD")
//	    from       = "Example Hosting <billing@example.com>"
//	  }
//	}
//
// The Message-ID is derived from the idempotency key, so a message the core
// sends twice (after a timeout, say) carries the same Message-ID and
// receivers can drop the duplicate; it is also the provider message id.
package main

import "github.com/ezscale/platform/sdk"

func main() { sdk.Serve(New()) }
