// Command ezscale-plugin-battlemetrics is EZSCALE's BattleMetrics monitor:
// it finds a game server on BattleMetrics by address and port and reads its
// players, max players, rank, status, map and player-count history through
// the public API, within the API's rate limits. The core starts it; run it
// with the argument "describe" to print its config schema.
package main

import "github.com/ezscale/platform/sdk"

func main() { sdk.Serve(New()) }
