package localserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	dcsaccess "github.com/dcs-access/dcs-access"
	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/lambdatest"
	"github.com/dcs-access/dcs-access/internal/openapi/openapitest"
)

func loadOpenAPI(t *testing.T) *openapitest.Doc {
	t.Helper()
	root, err := lambdatest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapitest.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// The local gateway serves what openapi.yaml describes, no route more or
// less (the /local/ routes are the local server's own: docs/security.md).
func TestTheLocalGatewayServesTheDescribedRoutes(t *testing.T) {
	s := newPipelineStack(t)
	var served []string
	for _, r := range s.srv.Routes() {
		if _, path, _ := strings.Cut(r, " "); !strings.HasPrefix(path, "/local/") {
			served = append(served, r)
		}
	}
	described := loadOpenAPI(t).Operations()
	for _, r := range served {
		if !slices.Contains(described, r) {
			t.Errorf("the local gateway serves %s, which openapi.yaml does not describe: add it to openapi.yaml", r)
		}
	}
	for _, r := range described {
		if !slices.Contains(served, r) {
			t.Errorf("openapi.yaml describes %s, which the local gateway does not serve", r)
		}
	}
}

func TestTheLocalServerServesOpenAPIYAML(t *testing.T) {
	srv, _ := stack(t)
	resp, err := srv.Client().Get(srv.URL + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	onDisk, err := os.ReadFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/yaml" || !bytes.Equal(body, onDisk) || !bytes.Equal(body, dcsaccess.OpenAPI) {
		t.Errorf("got %d %q and %d bytes, want 200 application/yaml and openapi.yaml as it is on disk (%d bytes)", resp.StatusCode, resp.Header.Get("Content-Type"), len(body), len(onDisk))
	}
}

// Every example of openapi.yaml is sent to the local stack (make run's,
// with the Step Functions stand-in and the simulators), and its answer must
// have the documented status, meet the documented schema, carry every
// member the example shows, and, for an error, its code.
func TestOpenAPIExamplesAgainstTheLocalStack(t *testing.T) {
	doc := loadOpenAPI(t)
	cases, unsent, err := doc.Cases()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range unsent {
		t.Errorf("%s is sent by no case: name a response example after it", u)
	}
	if len(cases) < 20 {
		t.Fatalf("got %d cases, want every example of openapi.yaml", len(cases))
	}
	s := newPipelineStack(t)
	s.putPlan(t)
	_, created := call(t, s.http, "POST", "/api-tokens", s.session, `{"description":"openapi example caller"}`)
	callerToken, _ := created["token"].(string)
	maskingToken := createToken(t, s, []access.Scope{access.ScopeComplianceJobsRun})
	runID := s.start(t)
	s.wait(t, runID)

	for _, c := range cases {
		t.Run(c.Method+" "+c.Path+" "+c.Name, func(t *testing.T) {
			s.putPlan(t) // a case may have deleted it
			_, fresh := call(t, s.http, "POST", "/api-tokens", s.session, `{"lifespanDays":30}`)
			fixtures := map[string]string{"sandbox": "uat1", "id": runID}
			if strings.HasPrefix(c.Path, "/api-tokens/") {
				fixtures["id"] = fresh["id"].(string)
			}
			maps := map[string]string{"{token}": fresh["token"].(string), "http://127.0.0.1:3000": s.http.URL}
			// Each case starts from no policy (version 0), and sets its own.
			s.clearPolicy(t)
			defer s.clearPolicy(t)
			if c.TenantPolicy != nil {
				body, _ := json.Marshal(c.TenantPolicy)
				if status, out := call(t, s.http, "PUT", "/tenant-policy", s.admin, string(body)); status != 200 {
					t.Fatalf("set the case's tenant policy: got %d %v", status, out)
				}
			}
			status, body := sendCase(t, s.http.URL, c, fixtures, maps, map[string]string{"session": s.session, "api-token": callerToken, "masking-token": maskingToken, "admin": s.admin})
			defer waitForRuns(t, s)

			if status != c.Status {
				t.Fatalf("got %d %s, want %d", status, body, c.Status)
			}
			if c.Example == nil {
				if len(body) != 0 {
					t.Errorf("got body %s, want none", body)
				}
				return
			}
			var got any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("got %s, not JSON: %v", body, err)
			}
			if err := doc.Validate(c.Schema, got); err != nil {
				t.Errorf("the answer does not meet its schema %s: %v\n%s", c.Schema, err, body)
			}
			if err := doc.Validate(c.Schema, c.Example); err != nil {
				t.Errorf("the example does not meet its own schema: %v", err)
			}
			for _, missing := range missingMembers(c.Example, got, "") {
				t.Errorf("the answer lacks %s, which the example shows: %s", missing, body)
			}
			if want := exampleErrorCode(c.Example); want != exampleErrorCode(got) {
				t.Errorf("got error code %q, want %q", exampleErrorCode(got), want)
			}
		})
	}
}

// sendCase makes c's request: fixtures fill the path parameters it does not
// give, replace rewrites its body's text, and bearers are by c.Bearer.
func sendCase(t *testing.T, base string, c openapitest.Case, fixtures, replace, bearers map[string]string) (int, []byte) {
	t.Helper()
	path := c.Path
	for name, value := range fixtures {
		if v, ok := c.PathArgs[name]; ok {
			value = v
		}
		path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(value))
	}
	if strings.Contains(path, "{") {
		t.Fatalf("path %s has a parameter without a fixture", path)
	}
	q := url.Values{}
	for k, v := range c.Query {
		q.Set(k, v)
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var body string
	switch {
	case c.Body == nil:
	case c.MediaType == "application/x-www-form-urlencoded":
		form := url.Values{}
		for k, v := range c.Body.(map[string]any) {
			form.Set(k, v.(string))
		}
		body = form.Encode()
	default:
		raw, err := json.Marshal(c.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = string(raw)
	}
	for from, to := range replace {
		body = strings.ReplaceAll(body, from, to)
		body = strings.ReplaceAll(body, url.QueryEscape(from), url.QueryEscape(to))
	}
	req, err := http.NewRequestWithContext(context.Background(), c.Method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if c.MediaType != "" {
		req.Header.Set("Content-Type", c.MediaType)
	}
	if c.Bearer != "none" {
		req.Header.Set("Authorization", "Bearer "+bearers[c.Bearer])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// missingMembers lists the object members of example (at any depth, lists
// aside) that got does not have.
func missingMembers(example, got any, at string) []string {
	want, ok := example.(map[string]any)
	if !ok {
		return nil
	}
	have, _ := got.(map[string]any)
	var out []string
	for k, v := range want {
		g, ok := have[k]
		if !ok {
			out = append(out, at+"."+k)
			continue
		}
		out = append(out, missingMembers(v, g, at+"."+k)...)
	}
	return out
}

func exampleErrorCode(v any) string {
	m, _ := v.(map[string]any)
	e, _ := m["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// waitForRuns waits until no run of the demo sandbox is running, so that
// the next case may start one.
func waitForRuns(t *testing.T, s *pipelineStack) {
	t.Helper()
	_, list := call(t, s.http, "GET", "/sandbox-refreshes?sandbox=uat1&limit=1", s.session, "")
	items, _ := list["items"].([]any)
	if len(items) == 1 {
		if run := items[0].(map[string]any); run["status"] == "RUNNING" {
			s.wait(t, run["id"].(string))
		}
	}
}
