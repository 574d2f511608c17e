// Command ezscale-plugin-gametracker is EZSCALE's GameTracker monitor.
// GameTracker has no API: the plugin always gives the public server page
// and the 560×95 banner, and reads players, max players, map, status and
// rank from the page's markup. That markup changes without notice, so the
// plugin fails soft: a page it cannot read or fetch gives the last known
// numbers flagged stale, never an error. The operator opts in by enabling
// it; see docs/plugins.md.
package main

import "github.com/ezscale/platform/sdk"

func main() { sdk.Serve(New()) }
