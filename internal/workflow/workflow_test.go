package workflow_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/workflow"
)

// definitionPath is the definition, from this package's directory.
var definitionPath = filepath.Join("..", "..", "statemachine", "sandbox-refresh.asl.json")

// problems checks a definition against the steps and phases: every Task
// runs a step of the table under its state name and stores its result in
// its phase's field; every step has its Task; every budget ends at least
// workflow.BudgetMargin before its Task's TimeoutSeconds; a step with a
// RetryAfter is retried no sooner (IntervalSeconds, no FULL jitter, which
// may wait as little as nothing); every state a
// phase lists exists, and every Wait and Choice is in a phase (else a run
// polling there would show as still in the phase before); RecordFailure is
// a Pass state.
func problems(def map[string]any) []string {
	states, _ := def["States"].(map[string]any)
	var out []string
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(states)) {
		st, _ := states[name].(map[string]any)
		switch st["Type"] {
		case "Task":
			params, _ := st["Parameters"].(map[string]any)
			stepName, _ := params["step"].(string)
			step, ok := workflow.StepNamed(stepName)
			if !ok {
				out = append(out, fmt.Sprintf("Task %s runs step %q, which is not a step of workflow.Steps", name, stepName))
				continue
			}
			seen[stepName] = true
			if step.State != name {
				out = append(out, fmt.Sprintf("Task %s runs step %s, whose state is %s in workflow.Steps", name, stepName, step.State))
			}
			if params["run.$"] != "$" || params["redriveCount.$"] != "$$.Execution.RedriveCount" {
				out = append(out, fmt.Sprintf("Task %s passes %v, want the whole run (run.$: $) and the attempt (redriveCount.$: $$.Execution.RedriveCount): its step reports to the run's record by attempt", name, params))
			}
			if got, want := st["ResultPath"], "$."+step.Phase.Result; got != want {
				out = append(out, fmt.Sprintf("Task %s has ResultPath %v, want %s: the %s step's result", name, got, want, step.Phase.Name))
			}
			if step.RetryAfter > 0 {
				out = append(out, retryProblems(name, st, step)...)
			}
			seconds, ok := st["TimeoutSeconds"].(float64)
			if !ok {
				out = append(out, fmt.Sprintf("Task %s has no TimeoutSeconds", name))
			} else if limit := time.Duration(seconds)*time.Second - workflow.BudgetMargin; step.Budget > limit {
				out = append(out, fmt.Sprintf("Task %s has TimeoutSeconds %v, but step %s may take %v: want its budget at most %v, so that it gives up before Step Functions does", name, seconds, stepName, step.Budget, limit))
			}
		case "Wait", "Choice":
			if workflow.PhaseOf(name) == nil {
				out = append(out, fmt.Sprintf("%s state %s is in no phase of workflow.Phases", st["Type"], name))
			}
		}
	}
	for _, step := range workflow.Steps {
		if !seen[step.Name] {
			out = append(out, fmt.Sprintf("step %s has no Task in the definition (want Task %s)", step.Name, step.State))
		}
	}
	for _, p := range workflow.Phases {
		for _, name := range p.Between {
			if states[name] == nil {
				out = append(out, fmt.Sprintf("phase %s lists state %s, which the definition does not have", p.Name, name))
			}
		}
	}
	// The masking start lists the job against the baseline taken before it.
	for _, name := range slices.Sorted(maps.Keys(states)) {
		st, _ := states[name].(map[string]any)
		if st["Next"] == "StartMasking" && name != "MaskingBaseline" {
			out = append(out, fmt.Sprintf("state %s goes to StartMasking: only MaskingBaseline may, so that the start has the baseline of the job's executions", name))
		}
	}
	if st, _ := states[workflow.RecordFailure].(map[string]any); st["Type"] != "Pass" {
		out = append(out, fmt.Sprintf("state %s is %v, want a Pass state: the step timeline marks where a caught failure is recorded", workflow.RecordFailure, st["Type"]))
	}
	return out
}

// retryProblems checks that every retrier of the Task that retries a
// TransientError waits at least step.RetryAfter before its first retry.
func retryProblems(name string, st map[string]any, step workflow.Step) []string {
	var out []string
	found := false
	retriers, _ := st["Retry"].([]any)
	for _, r := range retriers {
		retrier, _ := r.(map[string]any)
		errs, _ := retrier["ErrorEquals"].([]any)
		if !slices.Contains(errs, any("TransientError")) && !slices.Contains(errs, any("States.ALL")) {
			continue
		}
		found = true
		interval, ok := retrier["IntervalSeconds"].(float64)
		if !ok {
			interval = 1 // the States Language's default
		}
		if time.Duration(interval)*time.Second < step.RetryAfter {
			out = append(out, fmt.Sprintf("Task %s retries a TransientError after IntervalSeconds %v, but step %s must wait at least %v", name, interval, step.Name, step.RetryAfter))
		}
		if retrier["JitterStrategy"] == "FULL" {
			out = append(out, fmt.Sprintf("Task %s retries with JitterStrategy FULL, which may wait less than IntervalSeconds: step %s must wait at least %v", name, step.Name, step.RetryAfter))
		}
	}
	if !found {
		out = append(out, fmt.Sprintf("Task %s does not retry a TransientError", name))
	}
	return out
}

func readDefinition(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(definitionPath)
	if err != nil {
		t.Fatal(err)
	}
	var def map[string]any
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatalf("%s: %v", definitionPath, err)
	}
	return def
}

func TestTheDefinitionRunsExactlyTheSteps(t *testing.T) {
	if p := problems(readDefinition(t)); len(p) > 0 {
		t.Fatalf("%s does not match workflow.Steps and workflow.Phases:\n%s", definitionPath, strings.Join(p, "\n"))
	}
}

// Each check is shown to fail on a definition that breaks it.
func TestTheDefinitionCheckFailsOnAMutatedDefinition(t *testing.T) {
	state := func(def map[string]any, name string) map[string]any {
		return def["States"].(map[string]any)[name].(map[string]any)
	}
	for _, c := range []struct {
		name   string
		mutate func(def map[string]any)
		says   string
	}{
		{"a Task runs a step the table does not have", func(d map[string]any) {
			state(d, "CheckRefresh")["Parameters"].(map[string]any)["step"] = "pollRefresh"
		}, `runs step "pollRefresh", which is not a step`},
		{"a Task runs a step under another state name", func(d map[string]any) {
			states := d["States"].(map[string]any)
			states["DeactivateUsers"] = states["DropUsers"]
			delete(states, "DropUsers")
		}, "Task DeactivateUsers runs step dropUsers, whose state is DropUsers"},
		{"a step has no Task", func(d map[string]any) { delete(d["States"].(map[string]any), "RecreateUsers") }, "step recreateUsers has no Task"},
		{"a Task stores its result in another field", func(d map[string]any) { state(d, "StartMasking")["ResultPath"] = "$.dcs" }, "Task StartMasking has ResultPath $.dcs, want $.masking"},
		{"a poll Task's timeout leaves less than the margin", func(d map[string]any) { state(d, "CheckMasking")["TimeoutSeconds"] = 55.0 }, "step checkMasking may take 50s: want its budget at most 45s"},
		{"a users Task's timeout is below its budget", func(d map[string]any) { state(d, "DropUsers")["TimeoutSeconds"] = 120.0 }, "step dropUsers may take 4m40s"},
		{"a Task has no timeout", func(d map[string]any) { delete(state(d, "PrepareRefresh"), "TimeoutSeconds") }, "Task PrepareRefresh has no TimeoutSeconds"},
		{"the masking start is retried sooner than DCS may commit a lost start", func(d map[string]any) {
			state(d, "StartMasking")["Retry"].([]any)[0].(map[string]any)["IntervalSeconds"] = 5.0
		}, "Task StartMasking retries a TransientError after IntervalSeconds 5"},
		{"the masking start is retried with full jitter", func(d map[string]any) {
			state(d, "StartMasking")["Retry"].([]any)[0].(map[string]any)["JitterStrategy"] = "FULL"
		}, "Task StartMasking retries with JitterStrategy FULL"},
		{"the masking start is not retried", func(d map[string]any) { delete(state(d, "StartMasking"), "Retry") }, "Task StartMasking does not retry a TransientError"},
		{"the masking baseline is gone", func(d map[string]any) {
			states := d["States"].(map[string]any)
			states["DropUsers"].(map[string]any)["Next"] = "StartMasking"
			delete(states, "MaskingBaseline")
		}, "step maskingBaseline has no Task"},
		{"the masking start is reached around the baseline", func(d map[string]any) {
			state(d, "DropUsers")["Next"] = "StartMasking"
		}, "state DropUsers goes to StartMasking"},
		{"a Task does not say its attempt", func(d map[string]any) {
			delete(state(d, "DropUsers")["Parameters"].(map[string]any), "redriveCount.$")
		}, "Task DropUsers passes"},
		{"a state a phase lists is gone", func(d map[string]any) {
			states := d["States"].(map[string]any)
			states["WaitBeforeCheckingRefresh"] = states["WaitForRefresh"]
			delete(states, "WaitForRefresh")
		}, "phase refreshSandbox lists state WaitForRefresh"},
		{"a Wait belongs to no phase", func(d map[string]any) {
			d["States"].(map[string]any)["WaitForActivation"] = map[string]any{"Type": "Wait", "Seconds": 15.0, "Next": "DropUsers"}
		}, "Wait state WaitForActivation is in no phase"},
		{"the failure is recorded elsewhere", func(d map[string]any) { delete(d["States"].(map[string]any), "RecordFailure") }, "state RecordFailure is <nil>, want a Pass state"},
	} {
		t.Run(c.name, func(t *testing.T) {
			def := readDefinition(t)
			c.mutate(def)
			got := strings.Join(problems(def), "\n")
			if !strings.Contains(got, c.says) {
				t.Fatalf("got problems:\n%s\nwant one saying %q", got, c.says)
			}
		})
	}
}

func TestEveryStateNamesOnePhase(t *testing.T) {
	for _, s := range workflow.Steps {
		if got := workflow.PhaseOf(s.State); got != s.Phase {
			t.Errorf("PhaseOf(%s) is %v, want %s", s.State, got, s.Phase.Name)
		}
	}
	if got := workflow.PhaseOf("Succeeded"); got != nil {
		t.Errorf("PhaseOf(Succeeded) is %s, want no phase", got.Name)
	}
}
