package ddb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The codec of types.AttributeValue: on the wire each value is an object
// with exactly one member, named by its data type
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_AttributeValue.html):
//
//	{"S":"text"}  {"N":"12.5"}  {"B":"<base64>"}  {"BOOL":true}  {"NULL":true}
//	{"SS":["a"]}  {"NS":["1"]}  {"BS":["<base64>"]}
//	{"M":{"name":{"S":"x"}}}    {"L":[{"S":"x"},{"N":"1"}]}
//
// Numbers travel as strings, binaries as standard base64
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.LowLevelAPI.html).

// Item is an item, a key or a set of expression values: attribute values by
// name, as JSON.
type Item map[string]types.AttributeValue

// MarshalJSON writes each value in its data type's member, names in order.
func (m Item) MarshalJSON() ([]byte, error) { return appendItem(nil, m) }

// UnmarshalJSON reads an object of attribute values.
func (m *Item) UnmarshalJSON(b []byte) error {
	item, err := decodeItem(b)
	*m = item
	return err
}

// items is a list of items, as Query and Scan answer them.
type items []Item

func (l items) maps() []map[string]types.AttributeValue {
	if l == nil {
		return nil
	}
	out := make([]map[string]types.AttributeValue, len(l))
	for i, it := range l {
		out[i] = it
	}
	return out
}

func appendItem(b []byte, m map[string]types.AttributeValue) ([]byte, error) {
	b = append(b, '{')
	for i, name := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, name)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, m[name]); err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
	}
	return append(b, '}'), nil
}

// appendValue writes one attribute value. A nil value, or one of a type
// the codec does not know (an UnknownUnionMember read from a newer
// service), is an error: it has no wire form.
func appendValue(b []byte, v types.AttributeValue) ([]byte, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return append(appendString(append(b, `{"S":`...), v.Value), '}'), nil
	case *types.AttributeValueMemberN:
		return append(appendString(append(b, `{"N":`...), v.Value), '}'), nil
	case *types.AttributeValueMemberB:
		return append(appendBytes(append(b, `{"B":`...), v.Value), '}'), nil
	case *types.AttributeValueMemberBOOL:
		return append(strconv.AppendBool(append(b, `{"BOOL":`...), v.Value), '}'), nil
	case *types.AttributeValueMemberNULL:
		return append(strconv.AppendBool(append(b, `{"NULL":`...), v.Value), '}'), nil
	case *types.AttributeValueMemberSS:
		return append(appendList(append(b, `{"SS":`...), v.Value, appendString), '}'), nil
	case *types.AttributeValueMemberNS:
		return append(appendList(append(b, `{"NS":`...), v.Value, appendString), '}'), nil
	case *types.AttributeValueMemberBS:
		return append(appendList(append(b, `{"BS":`...), v.Value, appendBytes), '}'), nil
	case *types.AttributeValueMemberM:
		b, err := appendItem(append(b, `{"M":`...), v.Value)
		return append(b, '}'), err
	case *types.AttributeValueMemberL:
		b = append(b, `{"L":[`...)
		for i, e := range v.Value {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e); err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
		}
		return append(b, "]}"...), nil
	case nil:
		return nil, errors.New("a nil attribute value")
	case *types.UnknownUnionMember:
		return nil, fmt.Errorf("an attribute value of the unknown type %q", v.Tag)
	default:
		return nil, fmt.Errorf("an attribute value of the unknown Go type %T", v)
	}
}

// appendList writes a JSON array of l.
func appendList[T any](b []byte, l []T, each func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, e := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = each(b, e)
	}
	return append(b, ']')
}

func appendString(b []byte, s string) []byte {
	doc, _ := json.Marshal(s) // a string always marshals
	return append(b, doc...)
}

func appendBytes(b []byte, p []byte) []byte {
	if p == nil {
		p = []byte{} // "": json writes a nil []byte as null
	}
	doc, _ := json.Marshal(p) // standard base64, as the service wants
	return append(b, doc...)
}

// decodeItem reads an object of attribute values; null is a nil item.
func decodeItem(b []byte) (map[string]types.AttributeValue, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return nil, err
	}
	m := make(map[string]types.AttributeValue, len(raw))
	for name, r := range raw {
		v, err := decodeValue(r)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		m[name] = v
	}
	return m, nil
}

// decodeValue reads one attribute value: an object of exactly one member,
// whose name (matched exactly, where encoding/json would ignore case) is
// the type. A type the codec does not know is kept as
// types.UnknownUnionMember, as the SDK keeps it.
func decodeValue(b []byte) (types.AttributeValue, error) {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil, errors.New("a null attribute value")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return nil, err
	}
	if len(members) != 1 {
		return nil, fmt.Errorf("an attribute value has %d members, want one: %s", len(members), abbreviate(b))
	}
	for tag, raw := range members {
		if string(bytes.TrimSpace(raw)) == "null" {
			return nil, fmt.Errorf("an attribute value of type %s is null", tag)
		}
		switch tag {
		case "S":
			v := &types.AttributeValueMemberS{}
			return v, json.Unmarshal(raw, &v.Value)
		case "N":
			v := &types.AttributeValueMemberN{}
			return v, json.Unmarshal(raw, &v.Value)
		case "B":
			v := &types.AttributeValueMemberB{Value: []byte{}}
			return v, json.Unmarshal(raw, &v.Value)
		case "BOOL":
			v := &types.AttributeValueMemberBOOL{}
			return v, json.Unmarshal(raw, &v.Value)
		case "NULL":
			v := &types.AttributeValueMemberNULL{}
			return v, json.Unmarshal(raw, &v.Value)
		case "SS":
			v := &types.AttributeValueMemberSS{}
			return v, json.Unmarshal(raw, &v.Value)
		case "NS":
			v := &types.AttributeValueMemberNS{}
			return v, json.Unmarshal(raw, &v.Value)
		case "BS":
			v := &types.AttributeValueMemberBS{}
			return v, json.Unmarshal(raw, &v.Value)
		case "M":
			m, err := decodeItem(raw)
			return &types.AttributeValueMemberM{Value: m}, err
		case "L":
			var elements []json.RawMessage
			if err := json.Unmarshal(raw, &elements); err != nil {
				return nil, err
			}
			l := make([]types.AttributeValue, len(elements))
			for i, e := range elements {
				var err error
				if l[i], err = decodeValue(e); err != nil {
					return nil, fmt.Errorf("element %d: %w", i, err)
				}
			}
			return &types.AttributeValueMemberL{Value: l}, nil
		default:
			return &types.UnknownUnionMember{Tag: tag, Value: append([]byte(nil), raw...)}, nil
		}
	}
	panic("unreachable: one member")
}

// abbreviate is the start of a document, for an error message.
func abbreviate(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}
