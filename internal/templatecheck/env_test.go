package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// envSetting is how the template sets one environment variable.
type envSetting struct {
	Condition string // set only when this condition holds (an !If with AWS::NoValue); "" when always set
	Empty     bool   // set to an empty string literal
}

// templateEnv returns the environment variables the template gives fn: the
// Globals' merged with the function's own, as SAM merges them.
func templateEnv(tpl *cfnTemplate, fn resource) (map[string]envSetting, []string) {
	vars := map[string]envSetting{}
	var problems []string
	for _, src := range []struct {
		where string
		node  *yaml.Node
	}{
		{"Globals.Function.Environment.Variables", at(tpl.root, "Globals.Function.Environment.Variables")},
		{fn.ID + " Environment.Variables", fn.prop("Environment.Variables")},
	} {
		if src.node == nil {
			continue
		}
		es := entries(src.node)
		if es == nil && !(src.node.Kind == yaml.MappingNode && !isCustomTag(src.node.Tag)) {
			problems = append(problems, fmt.Sprintf("%s is %s, not a mapping of names to values", src.where, render(src.node)))
			continue
		}
		for _, e := range es {
			cond, always := mayBeAbsent(e.Value)
			if always {
				delete(vars, e.Key)
				continue
			}
			s, plain := plainScalar(e.Value)
			vars[e.Key] = envSetting{Condition: cond, Empty: plain && strings.TrimSpace(s) == ""}
		}
	}
	return vars, problems
}

// envValue returns the value the template gives fn's variable name: the
// function's own, else the Globals' (nil when neither sets it).
func envValue(tpl *cfnTemplate, fn resource, name string) *yaml.Node {
	if n := valueOf0(fn.prop("Environment.Variables"), name); n != nil {
		return n
	}
	return valueOf0(at(tpl.root, "Globals.Function.Environment.Variables"), name)
}

// checkEnvironment checks that the template sets exactly the variables fn's
// code reads: none missing, none unused, and each one the code requires set
// unconditionally and not empty.
func checkEnvironment(tpl *cfnTemplate, fnID string, reads envReads) []string {
	fn, ok := tpl.resource(fnID)
	if !ok {
		return []string{fmt.Sprintf("no resource %s", fnID)}
	}
	vars, problems := templateEnv(tpl, fn)
	read := reads.all()
	var missing, unused []string
	for _, name := range slices.Sorted(maps.Keys(read)) {
		if _, ok := vars[name]; !ok {
			missing = append(missing, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if !read[name] {
			unused = append(unused, name)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("%s: missing: the code reads %v but the template does not set them", fnID, missing))
	}
	if len(unused) > 0 {
		problems = append(problems, fmt.Sprintf("%s: unused: the template sets %v but the code never reads them", fnID, unused))
	}
	for _, name := range slices.Sorted(maps.Keys(reads.Required)) {
		s, ok := vars[name]
		switch {
		case !ok:
		case s.Condition != "":
			problems = append(problems, fmt.Sprintf("%s: %s is set only when %s holds, but the code requires it (env.Must): the cold start fails otherwise", fnID, name, s.Condition))
		case s.Empty:
			problems = append(problems, fmt.Sprintf("%s: %s is set to an empty string, but the code requires a value (env.Must)", fnID, name))
		}
	}
	return problems
}
