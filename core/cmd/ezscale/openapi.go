package main

import (
	"bytes"
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/ezscale/platform/core/httpapi"
)

// openapiCmd prints the OpenAPI document the server serves at
// /api/v1/openapi.json (the console's API types are generated from it).
func openapiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the HTTP API's OpenAPI document (as served at /api/v1/openapi.json)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, raw, err := httpapi.OpenAPI()
			if err != nil {
				return err
			}
			var out bytes.Buffer
			if err := json.Indent(&out, raw, "", "  "); err != nil {
				return err
			}
			out.WriteByte('\n')
			_, err = out.WriteTo(cmd.OutOrStdout())
			return err
		},
	}
}
