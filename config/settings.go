package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agext/levenshtein"
)

// setting is one configurable value, found by reflection over Config.
type setting struct {
	block string // "server"
	key   string // "listen"
	typ   reflect.Type
}

func (s setting) path() string { return s.block + "." + s.key }

// envName is the environment variable that overrides the setting.
func (s setting) envName() string {
	return "EZSCALE_" + strings.ToUpper(s.block) + "_" + strings.ToUpper(s.key)
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	settings     = collectSettings()
)

// blockNames lists the top-level block names that hold settings.
func blockNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range settings {
		if !seen[s.block] {
			seen[s.block] = true
			out = append(out, s.block)
		}
	}
	return out
}

func blockSettings(block string) []setting {
	var out []setting
	for _, s := range settings {
		if s.block == block {
			out = append(out, s)
		}
	}
	return out
}

func collectSettings() []setting {
	var out []setting
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		bf := ct.Field(i)
		block := bf.Tag.Get("koanf")
		if block == "" || block == "-" || bf.Type.Kind() != reflect.Struct {
			continue
		}
		for j := range bf.Type.NumField() {
			f := bf.Type.Field(j)
			key := f.Tag.Get("koanf")
			if key == "" || key == "-" {
				continue
			}
			out = append(out, setting{block: block, key: key, typ: f.Type})
		}
	}
	return out
}

// parseString converts an environment value to the setting's type.
func (s setting) parseString(v string) (any, error) {
	switch {
	case s.typ == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration (use e.g. \"30s\", \"5m\", \"1h\")", v)
		}
		return d, nil
	case s.typ.Kind() == reflect.String:
		return v, nil
	case s.typ.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q is not a bool (use true or false)", v)
		}
		return b, nil
	case s.typ.Kind() == reflect.Int || s.typ.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", v)
		}
		return n, nil
	case s.typ.Kind() == reflect.Slice && s.typ.Elem().Kind() == reflect.String:
		if strings.TrimSpace(v) == "" {
			return []string{}, nil
		}
		parts := strings.Split(v, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts, nil
	}
	return nil, fmt.Errorf("unsupported setting type %s", s.typ)
}

// suggest returns the candidate closest to given, or "" when none is close
// enough to be a plausible typo.
func suggest(given string, candidates []string) string {
	best, bestDist := "", 1<<30
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		d := levenshtein.Distance(given, c, nil)
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist <= 3 && bestDist < len(given) {
		return best
	}
	return ""
}
