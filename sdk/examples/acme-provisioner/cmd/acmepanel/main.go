// Command acmepanel serves the fake Acme Panel on 127.0.0.1, for trying the
// acme-provisioner example under `ezscale serve`:
//
//	go run ./cmd/acmepanel -listen 127.0.0.1:9090 -key demo-key
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/ezscale/platform/sdk/examples/acme-provisioner/acmepanel"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9090", "address to serve the panel's API on")
	key := flag.String("key", "demo-key", "the API key the panel accepts")
	flag.Parse()
	log.Printf("Acme Panel on http://%s (API key %q)", *listen, *key)
	log.Fatal(http.ListenAndServe(*listen, acmepanel.New(*key, 1)))
}
