// Package openapitest reads openapi.yaml for the tests that keep it true:
// its operations, to compare with the template's routes and the local
// gateway's (internal/templatecheck, internal/localserver), and its
// examples as cases to send to the local stack, with the schemas their
// answers must meet (draft 2020-12, OpenAPI 3.1's dialect, checked by
// santhosh-tekuri/jsonschema). No function links it.
package openapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// File is the description's name at the repository root.
const File = "openapi.yaml"

// Doc is openapi.yaml, as JSON values.
type Doc struct {
	root     map[string]any
	schemas  *jsonschema.Compiler
	resource string
}

// methods are the operations a path item may have.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Load reads root/openapi.yaml.
func Load(root string) (*Doc, error) {
	raw, err := os.ReadFile(filepath.Join(root, File))
	if err != nil {
		return nil, err
	}
	return Parse(raw)
}

// Parse reads a description.
func Parse(raw []byte) (*Doc, error) {
	var v any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", File, err)
	}
	// Through JSON, so that every value is what a JSON document holds (the
	// schema compiler wants json.Number, maps keyed by strings).
	asJSON, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s is not JSON-shaped (a key that is not a string?): %w", File, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(asJSON))
	if err != nil {
		return nil, err
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not a mapping", File)
	}
	d := &Doc{root: root, schemas: jsonschema.NewCompiler(), resource: "file:///openapi.json"}
	d.schemas.DefaultDraft(jsonschema.Draft2020)
	d.schemas.AssertFormat()
	if err := d.schemas.AddResource(d.resource, doc); err != nil {
		return nil, err
	}
	return d, nil
}

// Operations returns every operation as "METHOD /path", sorted: the
// description's route table.
func (d *Doc) Operations() []string {
	var out []string
	paths, _ := d.root["paths"].(map[string]any)
	for path, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range methods {
			if _, ok := item[m]; ok {
				out = append(out, strings.ToUpper(m)+" "+path)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Bearers are the callers an example's x-request may name: none, a session,
// an API token with every scope, one with compliance-jobs:run alone (as the
// pipeline's DCS token), which no operation of this API accepts, and a
// tenant administrator's session.
var Bearers = []string{"none", "session", "api-token", "masking-token", "admin"}

// Security is what an operation asks of its caller, as openapi.yaml says it.
type Security struct {
	Public bool     // security: [], no bearer at all
	Scopes []string // the bearer scheme's role names: the scopes it needs
}

// Security returns each operation's security ("METHOD /path" → it): its
// own security requirement, or the document's. A requirement must be one
// object naming the bearer scheme, or none at all.
func (d *Doc) Security() (map[string]Security, error) {
	out := map[string]Security{}
	paths, _ := d.root["paths"].(map[string]any)
	for path, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range methods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			where := strings.ToUpper(m) + " " + path
			req, ok := op["security"]
			if !ok {
				req = d.root["security"]
			}
			list, _ := req.([]any)
			if len(list) == 0 {
				out[where] = Security{Public: true}
				continue
			}
			one, _ := list[0].(map[string]any)
			roles, ok := one["bearer"].([]any)
			if len(list) != 1 || len(one) != 1 || !ok {
				return nil, fmt.Errorf("%s: security is %v, want [] or one requirement of the bearer scheme", where, req)
			}
			sec := Security{Scopes: []string{}}
			for _, r := range roles {
				s, ok := r.(string)
				if !ok {
					return nil, fmt.Errorf("%s: a bearer role %v is not a string", where, r)
				}
				sec.Scopes = append(sec.Scopes, s)
			}
			out[where] = sec
		}
	}
	return out, nil
}

// Case is one request of the example test and the answer it must get.
type Case struct {
	Name      string // the example's key ("created"), or the status for a response without content
	Method    string
	Path      string // the template path: "/api-tokens/{id}"
	Status    int
	MediaType string            // of the request body ("" without one)
	Body      any               // the request body's value, nil for none
	Query     map[string]string // query parameters to send
	PathArgs  map[string]string // path parameters given (the rest are fixtures)
	Bearer    string            // one of Bearers
	// TenantPolicy is the body of a PUT /tenant-policy that an
	// administrator makes just before the request; nil for none.
	TenantPolicy any
	// Example is the response example's value, nil for a response without
	// content; Schema is its schema's location in the document.
	Example any
	Schema  string
}

// Cases returns the description's cases (see the comment at the top of
// openapi.yaml), sorted by path, method, status and name, and the names of
// request examples that no case sends: each is a mistake.
func (d *Doc) Cases() ([]Case, []string, error) {
	var cases []Case
	var unsent []string
	paths, _ := d.root["paths"].(map[string]any)
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item, _ := paths[path].(map[string]any)
		for _, m := range methods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			where := strings.ToUpper(m) + " " + path
			bearer := "session"
			if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
				bearer = "none"
			}
			mediaType, bodies, err := d.requestExamples(op)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
			sent := map[string]bool{}
			responses, _ := op["responses"].(map[string]any)
			for _, code := range slices.Sorted(maps.Keys(responses)) {
				status, err := strconv.Atoi(code)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: response %q is not a status", where, code)
				}
				resp, pointer, err := d.deref(responses[code], "#/paths/"+escape(path)+"/"+m+"/responses/"+code)
				if err != nil {
					return nil, nil, fmt.Errorf("%s %s: %w", where, code, err)
				}
				content, _ := resp["content"].(map[string]any)
				if len(content) == 0 {
					if status < 300 {
						cases = append(cases, Case{Name: code, Method: strings.ToUpper(m), Path: path, Status: status, MediaType: mediaType, Bearer: bearer})
					}
					continue
				}
				media, _ := content["application/json"].(map[string]any)
				if media == nil {
					return nil, nil, fmt.Errorf("%s %s: only application/json responses are described", where, code)
				}
				examples, _ := media["examples"].(map[string]any)
				for _, name := range slices.Sorted(maps.Keys(examples)) {
					ex, _, err := d.deref(examples[name], "")
					if err != nil {
						return nil, nil, fmt.Errorf("%s %s example %s: %w", where, code, name, err)
					}
					c := Case{
						Name: name, Method: strings.ToUpper(m), Path: path, Status: status, MediaType: mediaType,
						Bearer: bearer, Example: ex["value"], Schema: pointer + "/content/application~1json/schema",
					}
					if body, ok := bodies[name]; ok {
						c.Body, sent[name] = body, true
					}
					if err := c.read(ex["x-request"]); err != nil {
						return nil, nil, fmt.Errorf("%s %s example %s: x-request: %w", where, code, name, err)
					}
					cases = append(cases, c)
				}
			}
			for _, name := range slices.Sorted(maps.Keys(bodies)) {
				if !sent[name] {
					unsent = append(unsent, where+" request example "+name)
				}
			}
		}
	}
	return cases, unsent, nil
}

// read applies a response example's x-request to c.
func (c *Case) read(v any) error {
	if v == nil {
		return nil
	}
	x, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("not a mapping")
	}
	for k, v := range x {
		switch k {
		case "body":
			c.Body = v
		case "bearer":
			s, _ := v.(string)
			if !slices.Contains(Bearers, s) {
				return fmt.Errorf("bearer %v is not one of %v", v, Bearers)
			}
			c.Bearer = s
		case "tenantPolicy":
			if _, ok := v.(map[string]any); !ok {
				return fmt.Errorf("tenantPolicy is not a mapping")
			}
			c.TenantPolicy = v
		case "query", "path":
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("%s is not a mapping", k)
			}
			strs := map[string]string{}
			for name, val := range m {
				s, ok := val.(string)
				if !ok {
					return fmt.Errorf("%s.%s is not a string", k, name)
				}
				strs[name] = s
			}
			if k == "query" {
				c.Query = strs
			} else {
				c.PathArgs = strs
			}
		default:
			return fmt.Errorf("unknown member %s", k)
		}
	}
	return nil
}

// requestExamples returns the request body's media type and its examples'
// values, by name.
func (d *Doc) requestExamples(op map[string]any) (string, map[string]any, error) {
	rb, _, err := d.deref(op["requestBody"], "")
	if err != nil || rb == nil {
		return "", nil, err
	}
	content, _ := rb["content"].(map[string]any)
	if len(content) != 1 {
		return "", nil, fmt.Errorf("the request body has %d media types, want 1", len(content))
	}
	for mediaType, media := range content {
		media, _ := media.(map[string]any)
		examples, _ := media["examples"].(map[string]any)
		out := map[string]any{}
		for name, ex := range examples {
			ex, _, err := d.deref(ex, "")
			if err != nil {
				return "", nil, err
			}
			out[name] = ex["value"]
		}
		return mediaType, out, nil
	}
	return "", nil, nil
}

// deref follows a local $ref ("#/components/..."); pointer is where v is,
// and the result's location is returned.
func (d *Doc) deref(v any, pointer string) (map[string]any, string, error) {
	m, _ := v.(map[string]any)
	for hops := 0; m != nil; hops++ {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, pointer, nil
		}
		if hops > 8 || !strings.HasPrefix(ref, "#/") {
			return nil, "", fmt.Errorf("$ref %q is not a local reference", ref)
		}
		var cur any = d.root
		for _, part := range strings.Split(ref[2:], "/") {
			part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
			next, ok := cur.(map[string]any)
			if !ok {
				return nil, "", fmt.Errorf("$ref %q does not resolve", ref)
			}
			cur = next[part]
		}
		if m, _ = cur.(map[string]any); m == nil {
			return nil, "", fmt.Errorf("$ref %q does not resolve to a mapping", ref)
		}
		pointer = ref
	}
	return m, pointer, nil
}

// Validate checks a JSON value (as encoding/json decodes it, or from
// jsonschema.UnmarshalJSON) against the schema at pointer.
func (d *Doc) Validate(pointer string, value any) error {
	sch, err := d.schemas.Compile(d.resource + pointer)
	if err != nil {
		return fmt.Errorf("compile the schema at %s: %w", pointer, err)
	}
	if err := sch.Validate(value); err != nil {
		if ve, ok := err.(*jsonschema.ValidationError); ok {
			return fmt.Errorf("%#v", ve) // every failing keyword, with where
		}
		return err
	}
	return nil
}

// escape is a path as a JSON pointer token.
func escape(path string) string {
	return strings.ReplaceAll(strings.ReplaceAll(path, "~", "~0"), "/", "~1")
}
