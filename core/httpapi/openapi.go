package httpapi

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"
)

// The OpenAPI document is kept as one fragment per domain (openapi/*.yaml),
// merged in file-name order: each fragment adds paths, components and the
// tags its operations use. Two fragments defining the same path, schema or
// tag is an error, not an override.
//
//go:embed openapi/*.yaml
var openapiFS embed.FS

var (
	openapiOnce sync.Once
	openapiJSON []byte
	openapiDoc  *openapi3.T
	openapiErr  error
)

// OpenAPI returns the merged, validated document and its JSON.
func OpenAPI() (*openapi3.T, []byte, error) {
	openapiOnce.Do(func() {
		openapiDoc, openapiJSON, openapiErr = loadOpenAPI(openapiFS)
	})
	return openapiDoc, openapiJSON, openapiErr
}

func loadOpenAPI(fsys fs.FS) (*openapi3.T, []byte, error) {
	names, err := fs.Glob(fsys, "openapi/*.yaml")
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(names)
	merged := map[string]any{}
	var tags []any
	tagFile := map[string]string{}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, nil, err
		}
		var frag map[string]any
		if err := yaml.Unmarshal(b, &frag); err != nil {
			return nil, nil, fmt.Errorf("openapi: %s: %w", name, err)
		}
		if ft, ok := frag["tags"]; ok {
			list, ok := ft.([]any)
			if !ok {
				return nil, nil, fmt.Errorf("openapi: %s: tags is not a list", name)
			}
			for _, t := range list {
				m, _ := t.(map[string]any)
				tag, _ := m["name"].(string)
				if tag == "" {
					return nil, nil, fmt.Errorf("openapi: %s: a tag without a name", name)
				}
				if prev, dup := tagFile[tag]; dup {
					return nil, nil, fmt.Errorf("openapi: %s redefines the tag %q of %s", name, tag, prev)
				}
				tagFile[tag] = name
			}
			tags = append(tags, list...)
			delete(frag, "tags")
		}
		if err := mergeInto(merged, frag, name); err != nil {
			return nil, nil, err
		}
	}
	if len(tags) > 0 {
		merged["tags"] = tags
	}
	if err := addHeldResponses(merged); err != nil {
		return nil, nil, err
	}
	raw, err := json.Marshal(merged)
	if err != nil {
		return nil, nil, fmt.Errorf("openapi: encoding: %w", err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("openapi: loading: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, nil, fmt.Errorf("openapi: invalid document: %w", err)
	}
	return doc, raw, nil
}

// mergeInto adds src's maps into dst; a leaf present in both is a conflict
// unless identical (the openapi/info header appears once).
func mergeInto(dst, src map[string]any, file string) error {
	for k, v := range src {
		cur, exists := dst[k]
		if !exists {
			dst[k] = v
			continue
		}
		cm, ok1 := cur.(map[string]any)
		vm, ok2 := v.(map[string]any)
		if ok1 && ok2 && (k == "paths" || k == "components" || k == "schemas" || k == "parameters" || k == "responses" || k == "securitySchemes" || k == "headers") {
			if err := mergeInto(cm, vm, file); err != nil {
				return err
			}
			continue
		}
		return fmt.Errorf("openapi: %s redefines %q", file, k)
	}
	return nil
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	_, raw, err := OpenAPI()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(raw)
}

// heldOperationsKey lists, in the approvals fragment, the operations that
// pass the high-risk gate (Route.HighRisk). Each gets the 202 answer of a
// held request (components/responses/HeldForApproval) here, so the
// fragments of their domains need not repeat it; an operation that already
// answers 202 (a refund) answers either its own body or the approval.
const heldOperationsKey = "x-high-risk-operations"

func addHeldResponses(doc map[string]any) error {
	raw, ok := doc[heldOperationsKey]
	if !ok {
		return nil
	}
	delete(doc, heldOperationsKey)
	list, ok := raw.([]any)
	if !ok {
		return fmt.Errorf("openapi: %s is not a list", heldOperationsKey)
	}
	want := map[string]bool{}
	for _, v := range list {
		id, _ := v.(string)
		want[id] = true
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, item := range paths {
		ops, _ := item.(map[string]any)
		for _, o := range ops {
			op, _ := o.(map[string]any)
			id, _ := op["operationId"].(string)
			if !want[id] {
				continue
			}
			delete(want, id)
			responses, _ := op["responses"].(map[string]any)
			if responses == nil {
				return fmt.Errorf("openapi: %s has no responses", id)
			}
			held := map[string]any{"$ref": "#/components/responses/HeldForApproval"}
			cur, exists := responses["202"].(map[string]any)
			if !exists {
				responses["202"] = held
				continue
			}
			content, _ := cur["content"].(map[string]any)
			js, _ := content["application/json"].(map[string]any)
			if js == nil {
				return fmt.Errorf("openapi: %s answers 202 without a JSON body", id)
			}
			js["schema"] = map[string]any{"anyOf": []any{js["schema"], map[string]any{"$ref": "#/components/schemas/Approval"}}}
			cur["description"] = fmt.Sprint(cur["description"]) + " Or, when a high-risk policy holds the request, the approval (see HeldForApproval)."
		}
	}
	if len(want) > 0 {
		for id := range want {
			return fmt.Errorf("openapi: %s names %q, which no operation has", heldOperationsKey, id)
		}
	}
	return nil
}
