package ddb_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/ddb"
)

// Each data type on the wire as the API reference writes it
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_AttributeValue.html).
var wireForms = []struct {
	name  string
	value types.AttributeValue
	wire  string
}{
	{"a string", &types.AttributeValueMemberS{Value: `Joe "the" <b>\`}, `{"S":"Joe \"the\" \u003cb\u003e\\"}`},
	{"an empty string", &types.AttributeValueMemberS{Value: ""}, `{"S":""}`},
	{"a number, as a string", &types.AttributeValueMemberN{Value: "123.45"}, `{"N":"123.45"}`},
	{"a binary, in base64", &types.AttributeValueMemberB{Value: []byte("this text is base64-encoded")}, `{"B":"dGhpcyB0ZXh0IGlzIGJhc2U2NC1lbmNvZGVk"}`},
	{"an empty binary", &types.AttributeValueMemberB{Value: []byte{}}, `{"B":""}`},
	{"a boolean", &types.AttributeValueMemberBOOL{Value: true}, `{"BOOL":true}`},
	{"false", &types.AttributeValueMemberBOOL{Value: false}, `{"BOOL":false}`},
	{"null", &types.AttributeValueMemberNULL{Value: true}, `{"NULL":true}`},
	{"a string set", &types.AttributeValueMemberSS{Value: []string{"Giraffe", "Hippo", "Zebra"}}, `{"SS":["Giraffe","Hippo","Zebra"]}`},
	{"a number set", &types.AttributeValueMemberNS{Value: []string{"42.2", "-19", "7.5", "3.14"}}, `{"NS":["42.2","-19","7.5","3.14"]}`},
	{"a binary set", &types.AttributeValueMemberBS{Value: [][]byte{[]byte("Sunny"), []byte("Rainy"), []byte("Snowy")}}, `{"BS":["U3Vubnk=","UmFpbnk=","U25vd3k="]}`},
	{"a map, its names in order", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"Name": &types.AttributeValueMemberS{Value: "Joe"}, "Age": &types.AttributeValueMemberN{Value: "35"},
	}}, `{"M":{"Age":{"N":"35"},"Name":{"S":"Joe"}}}`},
	{"a list", &types.AttributeValueMemberL{Value: []types.AttributeValue{
		&types.AttributeValueMemberS{Value: "Cookies"}, &types.AttributeValueMemberS{Value: "Coffee"}, &types.AttributeValueMemberN{Value: "3.14159"},
	}}, `{"L":[{"S":"Cookies"},{"S":"Coffee"},{"N":"3.14159"}]}`},
	{"an empty list", &types.AttributeValueMemberL{Value: []types.AttributeValue{}}, `{"L":[]}`},
	{"an empty map", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}, `{"M":{}}`},
	{"nested", &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberNULL{Value: true}}},
	}}}}, `{"L":[{"M":{"l":{"L":[{"NULL":true}]}}}]}`},
}

func TestEveryDataTypeHasItsWireForm(t *testing.T) {
	for _, tc := range wireForms {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := json.Marshal(ddb.Item{"a": tc.value})
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"a":` + tc.wire + `}`; string(doc) != want {
				t.Errorf("got %s, want %s", doc, want)
			}
			var back ddb.Item
			if err := json.Unmarshal([]byte(`{"a":`+tc.wire+`}`), &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back["a"], tc.value) {
				t.Errorf("read %s as %#v, want %#v", tc.wire, back["a"], tc.value)
			}
		})
	}
}

func TestValuesWithoutAWireFormAreRefused(t *testing.T) {
	for name, v := range map[string]types.AttributeValue{
		"a nil value":                   nil,
		"a nil value in a list":         &types.AttributeValueMemberL{Value: []types.AttributeValue{nil}},
		"a value of an unknown type":    &types.UnknownUnionMember{Tag: "VECTOR", Value: []byte(`[1]`)},
		"a nil value deep in a map":     &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"x": nil}},
		"an unknown type deep in a map": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"x": &types.UnknownUnionMember{Tag: "X"}}},
	} {
		t.Run(name, func(t *testing.T) {
			if doc, err := json.Marshal(ddb.Item{"a": v}); err == nil {
				t.Errorf("got %s, want an error", doc)
			}
		})
	}
}

func TestReadingChecksEachValueHasOneKnownMember(t *testing.T) {
	for _, tc := range []struct{ wire, err string }{
		{`{"a":{}}`, "0 members"},
		{`{"a":{"S":"x","N":"1"}}`, "2 members"},
		{`{"a":{"S":null}}`, "is null"},
		{`{"a":null}`, "a null attribute value"},
		{`{"a":{"S":1}}`, "cannot unmarshal number"},
		{`{"a":{"B":"not base64!"}}`, "illegal base64"},
		{`{"a":{"L":[{"S":"x"},{}]}}`, "element 1"},
		{`{"a":{"M":{"b":{"N":true}}}}`, `attribute "b"`},
		{`{"a":"S"}`, "cannot unmarshal string"},
	} {
		var got ddb.Item
		err := json.Unmarshal([]byte(tc.wire), &got)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: got %v, want an error saying %q", tc.wire, err, tc.err)
		}
	}
	// A type this codec does not know is kept, as the SDK keeps it; names
	// are matched exactly ("s" is not "S").
	var got ddb.Item
	if err := json.Unmarshal([]byte(`{"a":{"VECTOR":[1,2]},"b":{"s":"x"}}`), &got); err != nil {
		t.Fatal(err)
	}
	want := ddb.Item{"a": &types.UnknownUnionMember{Tag: "VECTOR", Value: []byte(`[1,2]`)}, "b": &types.UnknownUnionMember{Tag: "s", Value: []byte(`"x"`)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
	var none ddb.Item
	if err := json.Unmarshal([]byte(`null`), &none); err != nil || none != nil {
		t.Errorf("got %#v (%v), want a nil item for null", none, err)
	}
}
