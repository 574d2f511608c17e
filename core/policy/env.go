package policy

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Field documents one variable of an environment, as rules name it.
type Field struct {
	// Name is the name in rules: the field's `expr` tag, with the names of
	// its enclosing fields for nested structs ("service.type").
	Name string `json:"name"`
	// Type is the type as rule authors see it: bool, int, float, string,
	// list of T, map of string to T, or struct.
	Type string `json:"type"`
	// Doc is the field's `doc` tag.
	Doc string `json:"doc,omitempty"`
}

// shape is what Compile learns once about an environment type: that it is
// plain data, which variables it offers, and how to check the sizes of a
// value of it.
type shape struct {
	fields []Field
	// check returns an error naming the first string, slice or map of v
	// over its limit; nil when the type holds nothing with a size.
	check checkFunc
}

type checkFunc func(v reflect.Value, l Limits) error

// sizeError names a value of the environment over its size limit.
type sizeError struct {
	path string
	msg  string
}

func (e *sizeError) Error() string { return "input " + e.path + " " + e.msg }

// in prefixes the path of a sizeError with an enclosing field name or
// index ("[3]", `["key"]`).
func in(err error, prefix string) error {
	se, ok := err.(*sizeError)
	if !ok {
		return err
	}
	switch {
	case se.path == "":
		se.path = prefix
	case se.path[0] == '[':
		se.path = prefix + se.path
	default:
		se.path = prefix + "." + se.path
	}
	return se
}

// shapeOf validates t as an environment type and builds its shape.
func shapeOf(t reflect.Type) (*shape, error) {
	if t == nil || t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("policy: environment type %v is not a struct: rules need declared variables", t)
	}
	s := &shape{}
	check, err := plan(t, "", nil, &s.fields)
	if err != nil {
		return nil, fmt.Errorf("policy: environment type %v: %w", t, err)
	}
	s.check = check
	return s, nil
}

// plan validates t (reached through path) and returns its size check. Only
// plain data is accepted: expr would let a rule call any method of a value,
// and a pointer, interface or recursive type would make the size of a value
// unknowable from its type.
func plan(t reflect.Type, path string, stack []reflect.Type, fields *[]Field) (checkFunc, error) {
	at := path
	if at == "" {
		at = "the environment"
	}
	if t.Kind() != reflect.Interface && (t.NumMethod() > 0 || reflect.PointerTo(t).NumMethod() > 0) {
		return nil, fmt.Errorf("%s: type %v has methods; an environment is plain data", at, t)
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return nil, nil
	case reflect.String:
		return checkString, nil
	case reflect.Slice:
		elem, err := plan(t.Elem(), path+"[]", stack, fields)
		if err != nil {
			return nil, err
		}
		return checkSlice(elem), nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%s: map keys must be strings, not %v", at, t.Key())
		}
		if _, err := plan(t.Key(), path+"[key]", stack, nil); err != nil {
			return nil, err
		}
		elem, err := plan(t.Elem(), path+"[]", stack, fields)
		if err != nil {
			return nil, err
		}
		return checkMap(elem), nil
	case reflect.Struct:
		for _, s := range stack {
			if s == t {
				return nil, fmt.Errorf("%s: type %v is recursive", at, t)
			}
		}
		return planStruct(t, path, append(stack, t), fields)
	default:
		return nil, fmt.Errorf("%s: type %v is not plain data (bool, numbers, string, slices, maps with string keys, structs)", at, t)
	}
}

func planStruct(t reflect.Type, path string, stack []reflect.Type, fields *[]Field) (checkFunc, error) {
	type fieldCheck struct {
		index []int
		name  string
		check checkFunc
	}
	var checks []fieldCheck
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("expr"), ",")
		if f.Anonymous && f.Type.Kind() == reflect.Struct && name == "" {
			// expr promotes the fields of an embedded struct.
			check, err := plan(f.Type, path, stack, fields)
			if err != nil {
				return nil, err
			}
			if check != nil {
				checks = append(checks, fieldCheck{index: f.Index, check: check})
			}
			continue
		}
		if !f.IsExported() {
			continue // rules cannot see it
		}
		full := name
		if path != "" {
			full = path + "." + name
		}
		if name == "" || name == "-" {
			return nil, fmt.Errorf("%s: field %s has no expr tag naming it for rules", orEnv(path), f.Name)
		}
		if fields != nil {
			*fields = append(*fields, Field{Name: full, Type: typeName(f.Type), Doc: f.Tag.Get("doc")})
		}
		check, err := plan(f.Type, full, stack, fields)
		if err != nil {
			return nil, err
		}
		if check != nil {
			checks = append(checks, fieldCheck{index: f.Index, name: name, check: check})
		}
	}
	if len(checks) == 0 {
		return nil, nil
	}
	return func(v reflect.Value, l Limits) error {
		for _, c := range checks {
			if err := c.check(v.FieldByIndex(c.index), l); err != nil {
				if c.name == "" {
					return err
				}
				return in(err, c.name)
			}
		}
		return nil
	}, nil
}

func orEnv(path string) string {
	if path == "" {
		return "the environment"
	}
	return path
}

func checkString(v reflect.Value, l Limits) error {
	if v.Len() > l.MaxStringLen {
		return &sizeError{msg: fmt.Sprintf("is %d bytes long, the limit is %d", v.Len(), l.MaxStringLen)}
	}
	return nil
}

func checkSlice(elem checkFunc) checkFunc {
	return func(v reflect.Value, l Limits) error {
		if v.Len() > l.MaxSliceLen {
			return &sizeError{msg: fmt.Sprintf("has %d elements, the limit is %d", v.Len(), l.MaxSliceLen)}
		}
		if elem == nil {
			return nil
		}
		for i := range v.Len() {
			if err := elem(v.Index(i), l); err != nil {
				return in(err, "["+strconv.Itoa(i)+"]")
			}
		}
		return nil
	}
}

func checkMap(elem checkFunc) checkFunc {
	return func(v reflect.Value, l Limits) error {
		if v.Len() > l.MaxMapLen {
			return &sizeError{msg: fmt.Sprintf("has %d entries, the limit is %d", v.Len(), l.MaxMapLen)}
		}
		it := v.MapRange()
		for it.Next() {
			key := it.Key().String()
			if len(key) > l.MaxStringLen {
				return &sizeError{msg: fmt.Sprintf("has a key of %d bytes, the limit is %d", len(key), l.MaxStringLen)}
			}
			if elem != nil {
				if err := elem(it.Value(), l); err != nil {
					return in(err, "["+strconv.Quote(key)+"]")
				}
			}
		}
		return nil
	}
}

// typeName is t as rule authors see it.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int"
	case reflect.Float32, reflect.Float64:
		return "float"
	case reflect.String:
		return "string"
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "map of string to " + typeName(t.Elem())
	case reflect.Struct:
		return "struct"
	default:
		return t.String()
	}
}
