package templatecheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// cfnTemplate is a parsed SAM template. It keeps yaml.Nodes because the
// short-form intrinsics (!Ref, !GetAtt, !Sub, !If...) are node tags that a
// plain unmarshal into maps would drop.
type cfnTemplate struct {
	root *yaml.Node // the top-level mapping
}

// resource is one entry of the template's Resources.
type resource struct {
	ID   string // logical id
	Type string
	Node *yaml.Node // the resource's mapping (Type, Properties, Metadata...)
}

// prop returns the value at path under the resource's Properties, or nil.
func (r resource) prop(path string) *yaml.Node { return at(r.Node, "Properties."+path) }

func parseTemplate(data []byte) (*cfnTemplate, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("parse template: the document is not a mapping")
	}
	return &cfnTemplate{root: doc.Content[0]}, nil
}

// repoRoot returns the directory of go.mod, where template.yaml and the
// Makefile live.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// loadTemplate parses the repository's template.yaml afresh, so a test may
// mutate what it gets.
func loadTemplate(t *testing.T) *cfnTemplate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := parseTemplate(data)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// resources returns the template's resources in template order.
func (tpl *cfnTemplate) resources() []resource {
	var out []resource
	for _, e := range entries(at(tpl.root, "Resources")) {
		typ, _ := plainScalar(at(e.Value, "Type"))
		out = append(out, resource{ID: e.Key, Type: typ, Node: e.Value})
	}
	return out
}

// resource returns the resource with logical id id.
func (tpl *cfnTemplate) resource(id string) (resource, bool) {
	for _, r := range tpl.resources() {
		if r.ID == id {
			return r, true
		}
	}
	return resource{}, false
}

// ofType returns the resources of CloudFormation type typ, in template order.
func (tpl *cfnTemplate) ofType(typ string) []resource {
	var out []resource
	for _, r := range tpl.resources() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// functions returns the template's AWS::Serverless::Function resources.
func (tpl *cfnTemplate) functions() []resource { return tpl.ofType("AWS::Serverless::Function") }

// entry is one key and value of a YAML mapping.
type entry struct {
	Key   string
	Value *yaml.Node
}

// entries returns the key/value pairs of a plain mapping, in order; nil for
// anything else (including a mapping that is an intrinsic such as !If).
func entries(n *yaml.Node) []entry {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode || isCustomTag(n.Tag) {
		return nil
	}
	var out []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, entry{Key: n.Content[i].Value, Value: n.Content[i+1]})
	}
	return out
}

// at returns the node at a dotted path of mapping keys and sequence indexes
// ("Properties.Policies.0.PolicyName"), or nil when there is none.
func at(n *yaml.Node, path string) *yaml.Node {
	for _, key := range strings.Split(path, ".") {
		n = deref(n)
		if n == nil {
			return nil
		}
		switch n.Kind {
		case yaml.MappingNode:
			n = valueOf(n, key)
		case yaml.SequenceNode:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		default:
			return nil
		}
	}
	return deref(n)
}

func valueOf(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// isCustomTag reports whether tag is a CloudFormation short form ("!Ref"),
// not a YAML core tag ("!!str") or none.
func isCustomTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

// plainScalar returns the value of a scalar that is not an intrinsic.
func plainScalar(n *yaml.Node) (string, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || isCustomTag(n.Tag) {
		return "", false
	}
	return n.Value, true
}

// items returns the elements of a plain sequence, or the node itself for any
// other value: IAM and SAM accept "Action: x" as well as "Action: [x, y]".
func items(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.SequenceNode && !isCustomTag(n.Tag) {
		out := make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			out[i] = deref(c)
		}
		return out
	}
	return []*yaml.Node{n}
}

// intrinsic returns the CloudFormation function a node calls, in long form
// ("Ref", "Fn::GetAtt", "Fn::If"...), and its argument, for both the short
// (!GetAtt X.Arn) and the long form (Fn::GetAtt: [X, Arn]).
func intrinsic(n *yaml.Node) (name string, arg *yaml.Node, ok bool) {
	n = deref(n)
	if n == nil {
		return "", nil, false
	}
	if isCustomTag(n.Tag) {
		short := strings.TrimPrefix(n.Tag, "!")
		if short != "Ref" && short != "Condition" {
			short = "Fn::" + short
		}
		untagged := *n
		untagged.Tag = ""
		return short, &untagged, true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		if k := n.Content[0].Value; k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return k, deref(n.Content[1]), true
		}
	}
	return "", nil, false
}

// ref returns the logical id or pseudo parameter a !Ref names.
func ref(n *yaml.Node) (string, bool) {
	if fn, arg, ok := intrinsic(n); ok && fn == "Ref" {
		return plainScalar(arg)
	}
	return "", false
}

// getAtt returns the resource and attribute of a !GetAtt, in either form.
func getAtt(n *yaml.Node) (res, attr string, ok bool) {
	fn, arg, ok := intrinsic(n)
	if !ok || fn != "Fn::GetAtt" {
		return "", "", false
	}
	if s, ok := plainScalar(arg); ok {
		res, attr, found := strings.Cut(s, ".")
		return res, attr, found
	}
	if parts := items(arg); arg.Kind == yaml.SequenceNode && len(parts) == 2 {
		res, ok1 := plainScalar(parts[0])
		attr, ok2 := plainScalar(parts[1])
		return res, attr, ok1 && ok2
	}
	return "", "", false
}

// render writes a value the way the allowlists in these tests write it:
// plain scalars as they are, "!Ref X", "!GetAtt X.Arn", "!Sub text"; any
// other value in angle brackets, so it can never match an allowlist entry.
func render(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "<unset>"
	}
	if s, ok := plainScalar(n); ok {
		return s
	}
	if name, ok := ref(n); ok {
		return "!Ref " + name
	}
	if res, attr, ok := getAtt(n); ok {
		return "!GetAtt " + res + "." + attr
	}
	if fn, arg, ok := intrinsic(n); ok && fn == "Fn::Sub" {
		if s, ok := plainScalar(arg); ok {
			return "!Sub " + s
		}
	}
	if n.Kind == yaml.SequenceNode && !isCustomTag(n.Tag) {
		parts := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			parts = append(parts, render(c))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	out, err := yaml.Marshal(n)
	if err != nil {
		return "<unreadable>"
	}
	return "<" + strings.Join(strings.Fields(string(out)), " ") + ">"
}

// isNoValue reports whether n is !Ref AWS::NoValue.
func isNoValue(n *yaml.Node) bool {
	name, ok := ref(n)
	return ok && name == "AWS::NoValue"
}

// mayBeAbsent returns the condition under which an !If leaves a value out
// (one branch is AWS::NoValue), and whether it always does.
func mayBeAbsent(n *yaml.Node) (condition string, always bool) {
	if isNoValue(n) {
		return "always", true
	}
	fn, arg, ok := intrinsic(n)
	if !ok || fn != "Fn::If" {
		return "", false
	}
	branches := items(arg)
	if arg.Kind != yaml.SequenceNode || len(branches) != 3 {
		return "", false
	}
	cond, _ := plainScalar(branches[0])
	c1, always1 := mayBeAbsent(branches[1])
	c2, always2 := mayBeAbsent(branches[2])
	if always1 && always2 {
		return cond, true
	}
	if c1 != "" || c2 != "" {
		return cond, false
	}
	return "", false
}
