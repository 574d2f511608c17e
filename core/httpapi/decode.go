package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ezscale/platform/core/apperr"
)

var errBodyTooLarge = errors.New("request body too large")

func tooLarge(limit int64) Problem {
	p := problemFrom(&apperr.Error{Code: apperr.Invalid, Reason: "body_too_large", Message: fmt.Sprintf("the request body exceeds %d bytes", limit)})
	p.Status = http.StatusRequestEntityTooLarge
	p.Title = http.StatusText(http.StatusRequestEntityTooLarge)
	return p
}

// Decode reads one JSON object into v. Unknown fields are refused (so a
// client cannot slip in role, balance or account_id), as are keys given
// twice, keys that match a field only case-insensitively, text that is not
// UTF-8 (lone surrogate escapes included), trailing data, wrong types (the
// field is named) and bodies over the limit.
func Decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return apperr.New(apperr.Invalid, "send the body as application/json").WithReason("unsupported_media_type")
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errBodyTooLarge
		}
		return apperr.New(apperr.Invalid, "could not read the request body").WithReason("bad_body")
	}
	return DecodeBytes(body, v)
}

// DecodeBytes is Decode over a body already read.
func DecodeBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.New(apperr.Invalid, "the request needs a JSON body").WithReason("empty_body")
	}
	if json.Valid(body) {
		if err := checkStrict(body, reflect.TypeOf(v)); err != nil {
			return err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return apperr.New(apperr.Invalid, "the body must be a single JSON object").WithReason("malformed_json")
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.New(apperr.Invalid, "the body must be a single JSON object").WithReason("malformed_json")
	}
	if field := nulField(reflect.ValueOf(v), ""); field != "" {
		return apperr.Field(field, "must not contain NUL characters")
	}
	return nil
}

// nulField returns the JSON name of the first string in v that holds a NUL
// character, or "". JSON allows "\u0000" but PostgreSQL text cannot store it,
// so such a value would otherwise end as a 500 deep in a query.
func nulField(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return nulField(v.Elem(), path)
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			if path == "" {
				return "body"
			}
			return path
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if path != "" {
				name = path + "." + name
			}
			if bad := nulField(v.Field(i), name); bad != "" {
				return bad
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if bad := nulField(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); bad != "" {
				return bad
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			key := fmt.Sprint(iter.Key().Interface())
			name := key
			if path != "" {
				name = path + "." + key
			}
			if strings.IndexByte(key, 0) >= 0 {
				return name
			}
			if bad := nulField(iter.Value(), name); bad != "" {
				return bad
			}
		}
	}
	return ""
}

// validText reports whether s can be stored in a text column on both
// databases: valid UTF-8 without NUL.
func validText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apperr.New(apperr.Invalid, "malformed JSON at byte %d", syn.Offset).WithReason("malformed_json")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return apperr.New(apperr.Invalid, "the body must be a JSON object").WithReason("malformed_json")
		}
		return apperr.Field(field, "must be %s", jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json quotes the name with %q; an empty or odd name is
		// reported quoted, so the field is never blank.
		quoted := strings.TrimPrefix(err.Error(), "json: unknown field ")
		name, uerr := strconv.Unquote(quoted)
		if uerr != nil || name == "" || !validText(name) {
			name = quoted
		}
		return apperr.Field(name, "is not a field of this request")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apperr.New(apperr.Invalid, "the JSON body ends early").WithReason("malformed_json")
	}
	return apperr.New(apperr.Invalid, "the body is not valid JSON").WithReason("malformed_json")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number"
	case "float32", "float64":
		return "a number"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "of another type"
}
