package main

import (
	"bytes"
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/ezscale/platform/core/httpapi"
)

// openapiCmd prints the API document the server serves at
// /api/v1/openapi.json, for client generators, the linter (make lint) and
// the console's API types (make web).
func openapiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the OpenAPI document served at /api/v1/openapi.json (indented JSON)",
		Long: `Print the OpenAPI 3.1 document the server serves at /api/v1/openapi.json,
indented. It is built into the binary: no config or database is needed. Client
generators name their methods by each operation's operationId.`,
		Args: cobra.NoArgs,
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
