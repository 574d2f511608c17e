// Command ezscale-plugin-anthropic is EZSCALE's support assistant on
// Anthropic's Claude (the Messages API, through the official Go SDK). It
// streams answers to customers' questions from the knowledge articles and
// account facts the core passes as data, cites the articles it used, and
// can only answer or ask for a human (the escalate_to_human tool). The core
// starts it; run it with the argument "describe" to print its config
// schema.
package main

import "github.com/ezscale/platform/sdk"

func main() { sdk.Serve(New()) }
