package main

import "github.com/ezscale/platform/sdk"

func main() { sdk.Serve(New()) }
