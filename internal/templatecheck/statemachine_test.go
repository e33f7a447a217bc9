package templatecheck

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"
)

// placeholder is a DefinitionSubstitutions placeholder in a definition.
var placeholder = regexp.MustCompile(`\$\{([^}]*)\}`)

// lambdaDefaultTimeout is a function's Timeout when neither it nor Globals
// sets one.
const lambdaDefaultTimeout = 3

// checkStateMachines checks each state machine of the template against its
// definition file (read from root): Standard (runs last days, and only
// Standard runs can be redriven); DefinitionSubstitutions exactly the
// placeholders the definition uses; every Task that runs a function of the
// template has TimeoutSeconds, and the function's Timeout is at least that,
// so Step Functions' timeout is the one that applies; logs to a log group of
// the template with a retention; traced.
func checkStateMachines(tpl *cfnTemplate, root string) []string {
	var problems []string
	for _, r := range tpl.ofType("AWS::StepFunctions::StateMachine") {
		problems = append(problems, fmt.Sprintf("%s: define state machines as AWS::Serverless::StateMachine with a DefinitionUri, so these checks can read them", r.ID))
	}
	for _, sm := range tpl.ofType("AWS::Serverless::StateMachine") {
		problems = append(problems, checkStateMachine(tpl, root, sm)...)
	}
	return problems
}

func checkStateMachine(tpl *cfnTemplate, root string, sm resource) []string {
	var problems []string
	if got := render(sm.prop("Type")); got != "STANDARD" {
		problems = append(problems, fmt.Sprintf("%s: Type is %s, want STANDARD (runs last up to 76 hours and are redriven)", sm.ID, got))
	}
	if got := render(sm.prop("Tracing.Enabled")); got != "true" {
		problems = append(problems, fmt.Sprintf("%s: Tracing.Enabled is %s, want true", sm.ID, got))
	}
	problems = append(problems, checkStateMachineLogging(tpl, sm)...)

	path, ok := plainScalar(sm.prop("DefinitionUri"))
	if !ok || sm.prop("Definition") != nil {
		return append(problems, fmt.Sprintf("%s: DefinitionUri is %s, want the path of its definition file (and no inline Definition)", sm.ID, render(sm.prop("DefinitionUri"))))
	}
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
	if err != nil {
		return append(problems, fmt.Sprintf("%s: %v", sm.ID, err))
	}
	used := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(string(data), -1) {
		used[m[1]] = true
	}
	subs := map[string]*yaml.Node{}
	for _, e := range entries(sm.prop("DefinitionSubstitutions")) {
		subs[e.Key] = e.Value
	}
	for _, name := range slices.Sorted(maps.Keys(used)) {
		if subs[name] == nil {
			problems = append(problems, fmt.Sprintf("%s: %s uses ${%s}, which DefinitionSubstitutions does not set", sm.ID, path, name))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(subs)) {
		if !used[name] {
			problems = append(problems, fmt.Sprintf("%s: DefinitionSubstitutions sets %s, which %s does not use", sm.ID, name, path))
		}
	}

	var def any
	if err := json.Unmarshal(data, &def); err != nil {
		return append(problems, fmt.Sprintf("%s: %s: %v", sm.ID, path, err))
	}
	for _, task := range tasks(def) {
		res, _ := task.body["Resource"].(string)
		m := placeholder.FindStringSubmatch(res)
		if m == nil || m[0] != res {
			continue
		}
		fnID, attr, ok := getAtt(subs[m[1]])
		if !ok || attr != "Arn" || !isFunction(tpl, fnID) {
			continue
		}
		where := fmt.Sprintf("%s: Task %s (%s)", sm.ID, task.name, fnID)
		seconds, ok := task.body["TimeoutSeconds"].(float64)
		if !ok {
			problems = append(problems, where+" has no TimeoutSeconds: a hung invocation would hold the run until the function's own timeout, every retry")
			continue
		}
		timeout, err := functionTimeout(tpl, fnID)
		if err != nil {
			problems = append(problems, where+": "+err.Error())
		} else if timeout < int(seconds) {
			problems = append(problems, fmt.Sprintf("%s has TimeoutSeconds %d, but %s's Timeout is %d: Lambda would cut the step short before Step Functions' own timeout", where, int(seconds), fnID, timeout))
		}
	}
	return problems
}

// checkStateMachineLogging checks that sm logs (not OFF) to a log group of
// the template that has a retention.
func checkStateMachineLogging(tpl *cfnTemplate, sm resource) []string {
	var problems []string
	if level := render(sm.prop("Logging.Level")); level == "<unset>" || level == "OFF" {
		problems = append(problems, fmt.Sprintf("%s: Logging.Level is %s, want ERROR, FATAL or ALL", sm.ID, level))
	}
	dests := items(sm.prop("Logging.Destinations"))
	if len(dests) != 1 {
		return append(problems, fmt.Sprintf("%s: Logging.Destinations is %s, want one log group", sm.ID, render(sm.prop("Logging.Destinations"))))
	}
	arn := at(dests[0], "CloudWatchLogsLogGroup.LogGroupArn")
	lg, attr, ok := getAtt(arn)
	if r, found := tpl.resource(lg); !ok || attr != "Arn" || !found || r.Type != "AWS::Logs::LogGroup" {
		return append(problems, fmt.Sprintf("%s: logs to %s, want !GetAtt <AWS::Logs::LogGroup of the template>.Arn", sm.ID, render(arn)))
	} else if r.prop("RetentionInDays") == nil {
		problems = append(problems, fmt.Sprintf("%s: its log group %s keeps logs forever: set RetentionInDays", sm.ID, lg))
	}
	return problems
}

// task is a Task state of a definition.
type task struct {
	name string
	body map[string]any
}

// tasks returns every Task state of a definition, in Parallel branches and
// Map iterators too.
func tasks(def any) []task {
	var out []task
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if states, ok := v["States"].(map[string]any); ok {
				for _, name := range slices.Sorted(maps.Keys(states)) {
					if st, ok := states[name].(map[string]any); ok && st["Type"] == "Task" {
						out = append(out, task{name, st})
					}
				}
			}
			for _, k := range slices.Sorted(maps.Keys(v)) {
				walk(v[k])
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(def)
	return out
}

// functionTimeout returns the Timeout fnID runs with: its own, else the
// Globals', else Lambda's default.
func functionTimeout(tpl *cfnTemplate, fnID string) (int, error) {
	fn, _ := tpl.resource(fnID)
	n := fn.prop("Timeout")
	if n == nil {
		n = at(tpl.root, "Globals.Function.Timeout")
	}
	if n == nil {
		return lambdaDefaultTimeout, nil
	}
	s, _ := plainScalar(n)
	t, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("Timeout %s is not a number this check can read", render(n))
	}
	return t, nil
}
