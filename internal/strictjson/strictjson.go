// Package strictjson decodes JSON input that has exactly one spelling: member
// names match struct fields exactly, and no object names a member twice.
//
// encoding/json matches names case-insensitively ({"DESCRIPTION": …} fills
// Description) and keeps the last of two duplicate members, so two bodies
// that a person, a proxy or a log reader would see differently decode alike.
// encoding/json/v2 refuses both by default, but in Go 1.26 it still needs
// GOEXPERIMENT=jsonv2, and its module form (github.com/go-json-experiment/json)
// promises no stable API. So Unmarshal first walks the tokens of the input
// with encoding/json's Decoder.Token against the target type, then decodes
// with encoding/json. Drop this package for json/v2 once that is standard.
package strictjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// ErrTrailingData is returned when something follows the JSON value.
var ErrTrailingData = errors.New("strictjson: data after the JSON value")

// maxDepth bounds nesting as encoding/json's own scanner does; Decoder.Token
// does not, and the walk recurses.
const maxDepth = 10000

// MemberError is an object member that has no place in the target.
type MemberError struct {
	// Path locates the member: "description", "salesforce.username",
	// "nonProdUsers[0].email".
	Path string
	// Duplicate is set when the same object named the member before.
	Duplicate bool
	// Want is the field's name when Path's last name differs from it only
	// in case; "" when there is no such field.
	Want string
}

func (e *MemberError) Error() string {
	switch {
	case e.Duplicate:
		return fmt.Sprintf("strictjson: member %q appears twice", e.Path)
	case e.Want != "":
		return fmt.Sprintf("strictjson: unknown member %q (names are case-sensitive: %q)", e.Path, e.Want)
	}
	return fmt.Sprintf("strictjson: unknown member %q", e.Path)
}

// Unmarshal decodes the one JSON value in data into v, as json.Unmarshal
// with DisallowUnknownFields does, after refusing at every depth a member
// that repeats a name of its object (a *MemberError with Duplicate) or whose
// name is not exactly one of its struct's fields (a *MemberError). Members of
// maps, of interface values and of types with their own UnmarshalJSON may
// have any name, but not twice. Syntax and type errors are encoding/json's.
func Unmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // the walk only looks at numbers: no float64 overflow errors
	w := walker{dec: dec}
	if err := w.value(reflect.TypeOf(v), "", 0); err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrTrailingData
	}
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

type walker struct{ dec *json.Decoder }

// value walks one JSON value that is to be decoded into a t (nil: anything).
func (w walker) value(t reflect.Type, path string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("strictjson: nested deeper than %d at %q", maxDepth, path)
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	t = indirect(t)
	switch tok {
	case json.Delim('{'):
		return w.object(t, path, depth)
	case json.Delim('['):
		return w.array(t, path, depth)
	}
	return nil // a scalar: whether it fits t is json.Decode's check
}

func (w walker) object(t reflect.Type, path string, depth int) error {
	fields, isStruct := structFields(t)
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string) // Token returns object keys as strings
		at := name
		if path != "" {
			at = path + "." + name
		}
		if seen[name] {
			return &MemberError{Path: at, Duplicate: true}
		}
		seen[name] = true
		elem := elemType(t)
		if isStruct {
			var ok bool
			if elem, ok = fields[name]; !ok {
				return &MemberError{Path: at, Want: caseVariantOf(fields, name)}
			}
		}
		if err := w.value(elem, at, depth+1); err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // '}'
	return err
}

func (w walker) array(t reflect.Type, path string, depth int) error {
	for i := 0; w.dec.More(); i++ {
		if err := w.value(elemType(t), fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // ']'
	return err
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// indirect returns the type a JSON value fills for a t: t without pointers,
// or nil (anything) when t decodes itself, as json.RawMessage and time.Time do.
func indirect(t reflect.Type) reflect.Type {
	for t != nil {
		if p := reflect.PointerTo(t); p.Implements(jsonUnmarshaler) || p.Implements(textUnmarshaler) {
			return nil
		}
		if t.Kind() != reflect.Pointer {
			return t
		}
		t = t.Elem()
	}
	return nil
}

// elemType is the type of the members or elements of a map, slice or array
// t, or nil (anything).
func elemType(t reflect.Type) reflect.Type {
	if t != nil {
		switch t.Kind() {
		case reflect.Map, reflect.Slice, reflect.Array:
			return t.Elem()
		}
	}
	return nil
}

// structFields returns the JSON names of a struct t's fields with their
// types, by encoding/json's rules for the structs this project decodes:
// the json tag's name or else the field's, "-" skipped, unexported fields
// skipped, and the fields of an untagged embedded struct promoted unless a
// shallower field has the name. ok is false when t is not a struct.
func structFields(t reflect.Type) (fields map[string]reflect.Type, ok bool) {
	if t == nil || t.Kind() != reflect.Struct {
		return nil, false
	}
	fields = map[string]reflect.Type{}
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			if et := derefPointers(f.Type); et.Kind() == reflect.Struct {
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
		fields[name] = f.Type
	}
	for _, et := range embedded {
		promoted, _ := structFields(et)
		for name, ft := range promoted {
			if _, taken := fields[name]; !taken {
				fields[name] = ft
			}
		}
	}
	return fields, true
}

func derefPointers(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// caseVariantOf returns the field name that equals name but for case, or "".
func caseVariantOf(fields map[string]reflect.Type, name string) string {
	for field := range fields {
		if strings.EqualFold(field, name) {
			return field
		}
	}
	return ""
}
