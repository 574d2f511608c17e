// Package jsonshape compares the shape of JSON documents: the set of object
// key paths. Fake tests use it to check that what a fake serves has every
// field of the vendor's documented example, so fakes and clients cannot
// drift from the real API together.
package jsonshape

import (
	"encoding/json"
	"slices"
)

// Paths returns the sorted key paths of doc, e.g. "data.owner.email". Array
// elements share the path "[]".
func Paths(doc []byte) ([]string, error) {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	walk("", v, set)
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

func walk(prefix string, v any, set map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			set[p] = true
			walk(p, child, set)
		}
	case []any:
		for _, child := range v {
			walk(prefix+"[]", child, set)
		}
	}
}

// Missing returns the key paths of want that got lacks.
func Missing(want, got []byte) ([]string, error) {
	w, err := Paths(want)
	if err != nil {
		return nil, err
	}
	g, err := Paths(got)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range w {
		if _, found := slices.BinarySearch(g, p); !found {
			out = append(out, p)
		}
	}
	return out, nil
}
