// Command terraform-provider-ezscale is the EZSCALE Terraform provider.
package main

import (
	"context"
	"flag"
	"log"
	_ "time/tzdata" // time zones are checked at plan time on any machine

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/ezscale/platform/terraform/internal/provider"
)

// version is set at release time (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run with support for debuggers like delve (prints TF_REATTACH_PROVIDERS)")
	flag.Parse()
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/ezscale/ezscale",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}
