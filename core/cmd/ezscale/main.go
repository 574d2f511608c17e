// Command ezscale is the EZSCALE platform core: one binary for the server,
// migrations and the operator's CLI.
package main

import "fmt"

func main() { fmt.Println("ezscale") }
