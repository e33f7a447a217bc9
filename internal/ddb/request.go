package ddb

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// shape is a request shape as the service reads it: an input of this
// package, with the SDK's own types.Put, types.Update and the like inside
// it, is written member by member under the members' Go names (which are
// the wire names), leaving out nil pointers and empty strings, lists and
// maps as the SDK's serializer leaves out unset members, and writing
// attribute values with the codec. Being generic, it writes every member
// the SDK's types have, including those a newer SDK adds.
type shape struct{ v any }

func (s shape) MarshalJSON() ([]byte, error) {
	return appendShape(nil, reflect.ValueOf(s.v))
}

var (
	attributeValueType = reflect.TypeFor[types.AttributeValue]()
	itemType           = reflect.TypeFor[map[string]types.AttributeValue]()
)

// appendShape writes v, which is not empty.
func appendShape(b []byte, v reflect.Value) ([]byte, error) {
	t := v.Type()
	switch {
	case t == attributeValueType:
		return appendValue(b, v.Interface().(types.AttributeValue))
	case t.ConvertibleTo(itemType) && t.Kind() == reflect.Map:
		return appendItem(b, v.Convert(itemType).Interface().(map[string]types.AttributeValue))
	}
	switch t.Kind() {
	case reflect.Pointer:
		return appendShape(b, v.Elem())
	case reflect.String:
		return appendString(b, v.String()), nil
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool()), nil
	case reflect.Int32, reflect.Int64, reflect.Int:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case reflect.Slice:
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendShape(b, v.Index(i)); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return append(b, ']'), nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			break
		}
		b = append(b, '{')
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k.String()), ':')
			var err error
			if b, err = appendShape(b, v.MapIndex(k)); err != nil {
				return nil, fmt.Errorf("%q: %w", k.String(), err)
			}
		}
		return append(b, '}'), nil
	case reflect.Struct:
		if path := t.PkgPath(); path != typesPackage && path != thisPackage {
			break // time.Time and the like have a wire form of their own
		}
		b = append(b, '{')
		first := true
		for i := range t.NumField() {
			f, fv := t.Field(i), v.Field(i)
			if !f.IsExported() || empty(fv) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(appendString(b, f.Name), ':')
			var err error
			if b, err = appendShape(b, fv); err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
		}
		return append(b, '}'), nil
	}
	return nil, errors.New("no wire form for a member of type " + t.String())
}

var (
	typesPackage = reflect.TypeFor[types.Put]().PkgPath()
	thisPackage  = reflect.TypeFor[shape]().PkgPath()
)

// empty reports whether v is a member left unset.
func empty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.String, reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return false
}
