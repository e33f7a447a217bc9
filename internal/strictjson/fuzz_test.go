package strictjson_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/dcs-access/dcs-access/internal/strictjson"
)

// FuzzUnmarshal checks that Unmarshal never panics, and that whatever it
// accepts encoding/json accepts too, with the same result: the walk only
// ever refuses more.
func FuzzUnmarshal(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"Plain":"p","ptr":{"name":"a"},"list":[{"name":"b"}]}`,
		`{"byName":{"x":{"name":"e"}},"any":{"a":[1,{"b":null}]},"raw":{"A":1e999}}`,
		`{"ptr":null,"ptr":null}`, `{"PTR":{}}`, `{"list":[{"name":"a","name":"b"}]}`,
		`{"when":"2026-11-27T12:00:00Z","nested":{"k":{"v":1}}}`, `[[[[]]]]`, `{"a":}`, `{} {}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var strict target
		if err := strictjson.Unmarshal(data, &strict); err != nil {
			return
		}
		var plain target
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&plain); err != nil {
			t.Fatalf("strictjson accepted %q, encoding/json refused it: %v", data, err)
		}
		if !reflect.DeepEqual(strict, plain) {
			t.Fatalf("%q: strictjson decoded %+v, encoding/json %+v", data, strict, plain)
		}
	})
}
