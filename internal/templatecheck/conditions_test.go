package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// scenario is one combination of values of the parameters some conditions
// depend on, and those conditions evaluated with it: a way the stack can be
// deployed, for checks that must hold in every one.
type scenario struct {
	params []paramValue
	conds  map[string]bool
}

type paramValue struct{ Name, Value string }

func (s scenario) String() string {
	parts := make([]string, len(s.params))
	for i, p := range s.params {
		parts[i] = p.Name + "=" + p.Value
	}
	return strings.Join(parts, ", ")
}

// conditionsUsed returns the conditions the !If functions in nodes test.
func conditionsUsed(nodes ...*yaml.Node) []string {
	seen := map[string]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		n = deref(n)
		if n == nil {
			return
		}
		if fn, arg, ok := intrinsic(n); ok && fn == "Fn::If" {
			if parts := items(arg); len(parts) > 0 {
				if c, ok := plainScalar(parts[0]); ok {
					seen[c] = true
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	return slices.Sorted(maps.Keys(seen))
}

// scenarios returns every combination of the AllowedValues of the
// parameters that conds depend on (directly or through other conditions),
// each with every such condition evaluated. A condition this check cannot
// evaluate, or a parameter without AllowedValues, is a problem: its values
// cannot all be tried.
func scenarios(tpl *cfnTemplate, conds []string) ([]scenario, []string) {
	defs := at(tpl.root, "Conditions")
	var problems []string
	closure := map[string]bool{}
	params := map[string][]string{}
	var visit func(name string)
	var walk func(cond string, n *yaml.Node)
	visit = func(name string) {
		if closure[name] {
			return
		}
		closure[name] = true
		def := valueOf0(defs, name)
		if def == nil {
			problems = append(problems, fmt.Sprintf("condition %s is not defined in Conditions", name))
			return
		}
		walk(name, def)
	}
	walk = func(cond string, n *yaml.Node) {
		n = deref(n)
		if fn, arg, ok := intrinsic(n); ok {
			switch fn {
			case "Condition":
				if c, ok := plainScalar(arg); ok {
					visit(c)
				}
				return
			case "Ref":
				p, _ := plainScalar(arg)
				if _, done := params[p]; done {
					return
				}
				var values []string
				for _, v := range items(at(tpl.root, "Parameters."+p+".AllowedValues")) {
					if s, ok := plainScalar(v); ok {
						values = append(values, s)
					}
				}
				if len(values) == 0 {
					problems = append(problems, fmt.Sprintf("condition %s depends on %s, which has no AllowedValues: this check cannot try every value", cond, p))
				}
				params[p] = values
				return
			}
		}
		if n != nil {
			for _, c := range n.Content {
				walk(cond, c)
			}
		}
	}
	for _, c := range conds {
		visit(c)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	out := []scenario{{conds: map[string]bool{}}}
	for _, p := range slices.Sorted(maps.Keys(params)) {
		var next []scenario
		for _, s := range out {
			for _, v := range params[p] {
				next = append(next, scenario{params: append(slices.Clone(s.params), paramValue{p, v}), conds: map[string]bool{}})
			}
		}
		out = next
	}
	for _, s := range out {
		for _, c := range slices.Sorted(maps.Keys(closure)) {
			v, err := s.evalCondition(defs, c, map[string]bool{})
			if err != nil {
				return nil, []string{fmt.Sprintf("condition %s: %v", c, err)}
			}
			s.conds[c] = v
		}
	}
	return out, nil
}

// valueOf0 is valueOf on a node that may be nil.
func valueOf0(m *yaml.Node, key string) *yaml.Node {
	if m = deref(m); m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	return deref(valueOf(m, key))
}

func (s scenario) param(name string) (string, bool) {
	for _, p := range s.params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

func (s scenario) evalCondition(defs *yaml.Node, name string, visiting map[string]bool) (bool, error) {
	if visiting[name] {
		return false, fmt.Errorf("condition %s refers to itself", name)
	}
	visiting[name] = true
	defer delete(visiting, name)
	def := valueOf0(defs, name)
	if def == nil {
		return false, fmt.Errorf("condition %s is not defined", name)
	}
	return s.eval(defs, def, visiting)
}

// eval evaluates a condition function: Fn::Equals of parameters and
// literals, Fn::Not, Fn::And, Fn::Or and Condition.
func (s scenario) eval(defs, n *yaml.Node, visiting map[string]bool) (bool, error) {
	fn, arg, ok := intrinsic(n)
	if !ok {
		return false, fmt.Errorf("%s is not a condition function", render(n))
	}
	args := items(arg)
	switch fn {
	case "Condition":
		name, _ := plainScalar(arg)
		return s.evalCondition(defs, name, visiting)
	case "Fn::Equals":
		if len(args) != 2 {
			return false, fmt.Errorf("Fn::Equals takes two values, got %s", render(arg))
		}
		var vals [2]string
		for i, a := range args {
			if v, ok := plainScalar(a); ok {
				vals[i] = v
			} else if p, ok := ref(a); ok {
				if vals[i], ok = s.param(p); !ok {
					return false, fmt.Errorf("Fn::Equals compares %s, which is not an enumerated parameter", p)
				}
			} else {
				return false, fmt.Errorf("Fn::Equals compares %s, which this check cannot evaluate", render(a))
			}
		}
		return vals[0] == vals[1], nil
	case "Fn::Not":
		if len(args) != 1 {
			return false, fmt.Errorf("Fn::Not takes one condition, got %s", render(arg))
		}
		v, err := s.eval(defs, args[0], visiting)
		return !v, err
	case "Fn::And", "Fn::Or":
		and := fn == "Fn::And"
		for _, a := range args {
			v, err := s.eval(defs, a, visiting)
			if err != nil {
				return false, err
			}
			if v != and {
				return v, nil
			}
		}
		return and, nil
	}
	return false, fmt.Errorf("%s is not understood by this check", fn)
}

// resolve returns a copy of n with every !If replaced by the branch the
// scenario takes, and every AWS::NoValue left out of its mapping or list;
// nil when n itself is AWS::NoValue.
func (s scenario) resolve(n *yaml.Node) (*yaml.Node, error) {
	n = deref(n)
	if n == nil || isNoValue(n) {
		return nil, nil
	}
	if fn, arg, ok := intrinsic(n); ok && fn == "Fn::If" {
		parts := items(arg)
		if arg.Kind != yaml.SequenceNode || len(parts) != 3 {
			return nil, fmt.Errorf("!If %s does not have a condition and two values", render(arg))
		}
		cond, _ := plainScalar(parts[0])
		v, ok := s.conds[cond]
		if !ok {
			return nil, fmt.Errorf("condition %s was not evaluated", cond)
		}
		if v {
			return s.resolve(parts[1])
		}
		return s.resolve(parts[2])
	}
	out := *n
	out.Content = nil
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := s.resolve(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			if v != nil {
				out.Content = append(out.Content, n.Content[i], v)
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			v, err := s.resolve(c)
			if err != nil {
				return nil, err
			}
			if v != nil {
				out.Content = append(out.Content, v)
			}
		}
	default:
		out.Content = n.Content
	}
	return &out, nil
}

// scenarioProblems collects problems found in some scenarios and reports
// each once, naming the scenarios it appears in unless it appears in all.
type scenarioProblems struct {
	all   []scenario
	order []string
	in    map[string][]string
}

func newScenarioProblems(all []scenario) *scenarioProblems {
	return &scenarioProblems{all: all, in: map[string][]string{}}
}

func (sp *scenarioProblems) add(s scenario, problems ...string) {
	for _, p := range problems {
		if _, ok := sp.in[p]; !ok {
			sp.order = append(sp.order, p)
		}
		sp.in[p] = append(sp.in[p], s.String())
	}
}

func (sp *scenarioProblems) list() []string {
	var out []string
	for _, p := range sp.order {
		if in := sp.in[p]; len(in) < len(sp.all) {
			p += " (with " + strings.Join(in, "; with ") + ")"
		}
		out = append(out, p)
	}
	return out
}
