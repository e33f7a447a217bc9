package strictjson_test

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/strictjson"
)

type inner struct {
	Name string `json:"name"`
}

type Embedded struct {
	Shared string `json:"shared"`
	Deep   string `json:"deep"`
}

type target struct {
	Embedded                           // promoted: shared, deep
	Shared   int                       `json:"shared"` // shadows Embedded.Shared
	Plain    string                    // no tag: its Go name
	Skipped  string                    `json:"-"`
	Ptr      *inner                    `json:"ptr"`
	List     []inner                   `json:"list"`
	Fixed    [2]inner                  `json:"fixed"`
	ByName   map[string]inner          `json:"byName"`
	Any      any                       `json:"any"`
	Raw      json.RawMessage           `json:"raw"`
	When     time.Time                 `json:"when"`
	Nested   map[string]map[string]int `json:"nested"`
	//lint:ignore U1000 an unexported field, which JSON must not reach
	hidden string
}

func TestUnmarshalDecodesExactSpellings(t *testing.T) {
	in := `{"shared":3,"deep":"d","Plain":"p","ptr":{"name":"a"},"list":[{"name":"b"}],
		"fixed":[{"name":"c"},{"name":"d"}],"byName":{"x":{"name":"e"},"X":{"name":"f"}},
		"any":{"A":1,"a":2},"raw":{"A":1,"a":[1e999]},"when":"2026-11-27T12:00:00Z","nested":{"k":{"K":1,"k":2}}}`
	var got target
	if err := strictjson.Unmarshal([]byte(in), &got); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	var want target
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v (what encoding/json decodes)", got, want)
	}
}

func TestUnmarshalRefusesMembersWithoutTheirOneSpelling(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want strictjson.MemberError
	}{
		{"a top-level duplicate", `{"ptr":null,"ptr":null}`, strictjson.MemberError{Path: "ptr", Duplicate: true}},
		{"a case variant of a field", `{"PTR":null}`, strictjson.MemberError{Path: "PTR", Want: "ptr"}},
		{"a case variant of an untagged field", `{"plain":"p"}`, strictjson.MemberError{Path: "plain", Want: "Plain"}},
		{"a case variant of a promoted field", `{"Deep":"d"}`, strictjson.MemberError{Path: "Deep", Want: "deep"}},
		{"the Go name of a tagged field", `{"ByName":{}}`, strictjson.MemberError{Path: "ByName", Want: "byName"}},
		{"an unknown field", `{"nope":1}`, strictjson.MemberError{Path: "nope"}},
		{"a field tagged -", `{"Skipped":"s"}`, strictjson.MemberError{Path: "Skipped"}},
		{"an unexported field", `{"hidden":"h"}`, strictjson.MemberError{Path: "hidden"}},
		{"the embedded struct's own name", `{"Embedded":{}}`, strictjson.MemberError{Path: "Embedded"}},
		{"a case variant behind a pointer", `{"ptr":{"Name":"a"}}`, strictjson.MemberError{Path: "ptr.Name", Want: "name"}},
		{"a duplicate in a slice element", `{"list":[{"name":"a"},{"name":"b","name":"c"}]}`, strictjson.MemberError{Path: "list[1].name", Duplicate: true}},
		{"a case variant in an array element", `{"fixed":[{"NAME":"a"}]}`, strictjson.MemberError{Path: "fixed[0].NAME", Want: "name"}},
		{"a duplicate map key", `{"byName":{"x":{},"x":{}}}`, strictjson.MemberError{Path: "byName.x", Duplicate: true}},
		{"a case variant in a map value", `{"byName":{"x":{"Name":"a"}}}`, strictjson.MemberError{Path: "byName.x.Name", Want: "name"}},
		{"a duplicate inside an interface value", `{"any":[{"a":1,"a":2}]}`, strictjson.MemberError{Path: "any[0].a", Duplicate: true}},
		{"a duplicate inside a raw message", `{"raw":{"a":{"b":1,"b":1}}}`, strictjson.MemberError{Path: "raw.a.b", Duplicate: true}},
		{"a duplicate two maps deep", `{"nested":{"k":{"v":1,"v":2}}}`, strictjson.MemberError{Path: "nested.k.v", Duplicate: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := strictjson.Unmarshal([]byte(tt.in), new(target))
			var got *strictjson.MemberError
			if !errors.As(err, &got) || *got != tt.want {
				t.Fatalf("got %v, want %+v", err, tt.want)
			}
			if !strings.Contains(got.Error(), tt.want.Path) {
				t.Errorf("got message %q, want it to name %q", got.Error(), tt.want.Path)
			}
		})
	}
}

func TestUnmarshalRefusesADuplicateIntoAnUntypedTarget(t *testing.T) {
	var got *strictjson.MemberError
	if err := strictjson.Unmarshal([]byte(`{"a":[{"b":1,"b":1}]}`), new(any)); !errors.As(err, &got) || got.Path != "a[0].b" || !got.Duplicate {
		t.Fatalf("got %v, want a duplicate a[0].b", err)
	}
}

func TestUnmarshalLeavesOtherErrorsToEncodingJSON(t *testing.T) {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	tests := []struct {
		name string
		in   string
		want func(error) bool
	}{
		{"a wrong type", `{"Plain":1}`, func(err error) bool { return errors.As(err, &typeErr) && typeErr.Field == "Plain" }},
		{"a wrong type in a nested object", `{"ptr":{"name":[]}}`, func(err error) bool { return errors.As(err, &typeErr) && typeErr.Field == "ptr.name" }},
		{"a syntax error", `{"Plain":}`, func(err error) bool { return errors.As(err, &syntaxErr) }},
		{"a missing colon", `{"Plain" "p"}`, func(err error) bool { return errors.As(err, &syntaxErr) }},
		{"input that ends early", `{"Plain":"p"`, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"empty input", ``, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"a second value", `{} {}`, func(err error) bool { return errors.Is(err, strictjson.ErrTrailingData) }},
		{"trailing garbage", `{}x`, func(err error) bool { return errors.Is(err, strictjson.ErrTrailingData) }},
		{"nesting deeper than encoding/json allows", `{"any":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, func(err error) bool { return err != nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v target
			if err := strictjson.Unmarshal([]byte(tt.in), &v); !tt.want(err) {
				t.Fatalf("got %v (%T), want encoding/json's error", err, err)
			}
		})
	}
}
