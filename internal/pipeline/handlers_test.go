package pipeline

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/dcs-access/dcs-access/internal/workflow"
)

func TestEveryStepOfTheWorkflowHasAHandlerAndNoOtherDoes(t *testing.T) {
	var names []string
	for _, s := range workflow.Steps {
		names = append(names, s.Name)
	}
	if got := slices.Sorted(maps.Keys(handlers)); !slices.Equal(got, slices.Sorted(slices.Values(names))) {
		t.Fatalf("got handlers for %v, want exactly workflow.Steps %v", got, names)
	}
}

// The adapter shows a phase's result from the run state's field named by the
// phase: State must keep each result there.
func TestEachPhasesResultIsAFieldOfTheRunState(t *testing.T) {
	doc, err := json.Marshal(State{Refresh: &Refresh{}, DropUsers: &Dropped{}, Masking: &Masking{}, RecreateUsers: &Recreated{}})
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(doc, &fields); err != nil {
		t.Fatal(err)
	}
	for _, p := range workflow.Phases {
		if _, ok := fields[p.Result]; !ok {
			t.Errorf("the run state has no field %q for phase %s: got %v", p.Result, p.Name, slices.Sorted(maps.Keys(fields)))
		}
	}
}
