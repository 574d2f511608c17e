package httpapi

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ezscale/platform/core/apperr"
)

// encoding/json accepts, silently, three things a strict API must refuse:
// a key given twice (the last one wins, so a proxy or a log that reads the
// first sees another request than the handler), a key that matches a field
// only case-insensitively ("Role" for "role"), and text that is not UTF-8
// (raw bytes, or a \u escape of a lone surrogate), which it turns into
// U+FFFD. checkStrict walks a syntactically valid body beside the Go type it
// is decoded into and refuses each with the field's name.

// checkStrict returns an Invalid error naming the first offending field of
// body (which must be valid JSON), decoded into a value of type t.
func checkStrict(body []byte, t reflect.Type) error {
	sc := &strictScanner{b: body}
	return sc.value(t, "")
}

type strictScanner struct {
	b []byte
	i int
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shape resolves t to what the JSON is matched against: nil when any keys
// go (interfaces, types with their own unmarshaling, unknown fields).
func shape(t reflect.Type) reflect.Type {
	for t != nil {
		if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) ||
			t.Implements(textUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
			return nil
		}
		if t.Kind() != reflect.Pointer {
			return t
		}
		t = t.Elem()
	}
	return nil
}

func (s *strictScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *strictScanner) value(t reflect.Type, path string) error {
	s.ws()
	if s.i >= len(s.b) {
		return nil
	}
	t = shape(t)
	switch s.b[s.i] {
	case '{':
		return s.object(t, path)
	case '[':
		return s.array(t, path)
	case '"':
		if _, ok := s.str(false); !ok {
			return invalidText(path)
		}
		return nil
	}
	// A number or a literal: up to the next delimiter.
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return nil
		}
		s.i++
	}
	return nil
}

func (s *strictScanner) object(t reflect.Type, path string) error {
	s.i++ // {
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]bool{}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] == '}' {
			s.i++
			return nil
		}
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		key, ok := s.str(true)
		if !ok {
			return invalidText(path)
		}
		name := joinField(path, key)
		if seen[key] {
			return apperr.Field(name, "appears more than once")
		}
		seen[key] = true
		s.ws()
		s.i++ // :
		var vt reflect.Type
		switch {
		case fields != nil:
			if ft, ok := fields[key]; ok {
				vt = ft
			} else if want := foldedField(fields, key); want != "" {
				return apperr.Field(name, "is not a field of this request (names are case-sensitive: %q)", want)
			}
		case t != nil && t.Kind() == reflect.Map:
			vt = t.Elem()
		}
		if err := s.value(vt, name); err != nil {
			return err
		}
	}
}

func (s *strictScanner) array(t reflect.Type, path string) error {
	s.i++ // [
	var elem reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		elem = t.Elem()
	}
	for n := 0; ; {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] == ']' {
			s.i++
			return nil
		}
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		if err := s.value(elem, path+"["+strconv.Itoa(n)+"]"); err != nil {
			return err
		}
		n++
	}
}

// str reads the string starting at the opening quote. ok is false when it
// holds bytes that are not UTF-8 or a \u escape of a lone surrogate; the
// decoded text is returned only when decode is set.
func (s *strictScanner) str(decode bool) (string, bool) {
	start := s.i
	s.i++
	ok, escaped := true, false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			raw := s.b[start:s.i]
			if !ok || !decode {
				return "", ok
			}
			if !escaped {
				return string(raw[1 : len(raw)-1]), true
			}
			var out string
			if err := json.Unmarshal(raw, &out); err != nil {
				return "", false
			}
			return out, true
		case c == '\\':
			escaped = true
			if s.i+1 < len(s.b) && s.b[s.i+1] == 'u' {
				r := hexRune(s.b, s.i+2)
				s.i += 6
				if utf16.IsSurrogate(r) {
					// A high surrogate must be followed by an escaped
					// low one; anything else is a lone surrogate.
					if r >= 0xDC00 || s.i+1 >= len(s.b) || s.b[s.i] != '\\' || s.b[s.i+1] != 'u' {
						ok = false
						continue
					}
					if low := hexRune(s.b, s.i+2); low < 0xDC00 || low > 0xDFFF {
						ok = false
						continue
					}
					s.i += 6
				}
				continue
			}
			s.i += 2
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				ok = false
			}
			s.i += n
		}
	}
	return "", false
}

// hexRune decodes the four hex digits at b[i:], or -1.
func hexRune(b []byte, i int) rune {
	if i+4 > len(b) {
		return -1
	}
	v, err := strconv.ParseUint(string(b[i:i+4]), 16, 16)
	if err != nil {
		return -1
	}
	return rune(v)
}

func invalidText(path string) error {
	if path == "" {
		path = "body"
	}
	return apperr.Field(path, "must be valid UTF-8 text (raw bytes that are not UTF-8 and \\u escapes of lone surrogates are refused)")
}

func joinField(path, key string) string {
	if key == "" {
		key = `""`
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// foldedField returns the field that key matches only case-insensitively
// (as encoding/json would match it), or "".
func foldedField(fields map[string]reflect.Type, key string) string {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return name
		}
	}
	return ""
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps the JSON names of a struct's fields, as encoding/json
// sees them (tags, "-", fields promoted from embedded structs), to their
// types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				embedded = append(embedded, et)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	// Promoted fields lose to the outer struct's own.
	for _, et := range embedded {
		for name, ft := range jsonFields(et) {
			if _, ok := m[name]; !ok {
				m[name] = ft
			}
		}
	}
	fieldCache.Store(t, m)
	return m
}
