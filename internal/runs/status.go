package runs

import (
	"encoding/json"
	"time"
)

// Status is a run as the API shows it.
type Status struct {
	Run          `json:"-"`
	Status       string     `json:"status"`
	CurrentStep  string     `json:"currentStep,omitempty"`
	StartedAt    time.Time  `json:"startedAt"`
	StoppedAt    *time.Time `json:"stoppedAt,omitempty"`
	Error        string     `json:"error,omitempty"`
	Cause        string     `json:"cause,omitempty"`
	RedriveCount int        `json:"redriveCount"`
	Steps        []Step     `json:"steps"`
}

// Step is one of the four steps of a refresh, as a person follows it.
type Step struct {
	Name      string         `json:"name"`
	StartedAt time.Time      `json:"startedAt"`
	EndedAt   *time.Time     `json:"endedAt,omitempty"`
	Outcome   string         `json:"outcome"` // RUNNING, SUCCEEDED or FAILED
	Detail    map[string]any `json:"detail,omitempty"`
	Error     string         `json:"error,omitempty"`
	Cause     string         `json:"cause,omitempty"`
}

// The four steps, and the states of the definition that make up each one
// (with the state whose output carries the step's result).
var steps = []struct {
	name, result string
	states       []string
}{
	{"refreshSandbox", "refresh", []string{"PrepareRefresh", "StartRefresh", "WaitForRefresh", "CheckRefresh", "IsRefreshDone"}},
	{"dropUsers", "dropUsers", []string{"DropUsers"}},
	{"masking", "masking", []string{"StartMasking", "WaitForMasking", "CheckMasking", "IsMaskingDone"}},
	{"recreateUsers", "recreateUsers", []string{"RecreateUsers"}},
}

func stepOf(state string) int {
	for i, s := range steps {
		for _, name := range s.states {
			if name == state {
				return i
			}
		}
	}
	return -1
}

// statusOf rebuilds the step timeline from the execution history: a step
// starts when the first of its states is entered, and ends when the next
// step starts, when the run records a failure in it, or when the run ends.
func statusOf(run Run, ex Execution, events []Event) Status {
	st := Status{Run: run, Status: ex.Status, StartedAt: ex.StartedAt, StoppedAt: ex.StoppedAt,
		Error: ex.Error, Cause: ex.Cause, RedriveCount: ex.RedriveCount, Steps: []Step{}}
	index := map[int]int{} // step number → position in st.Steps
	current := -1
	for _, e := range events {
		switch {
		case e.Type == "ExecutionRedriven":
			if i, ok := index[current]; ok {
				st.Steps[i].Outcome, st.Steps[i].EndedAt, st.Steps[i].Error, st.Steps[i].Cause = "RUNNING", nil, "", ""
			}
		case e.State == "RecordFailure" && e.Type == "PassStateEntered":
			if i, ok := index[current]; ok {
				ts := e.Timestamp
				st.Steps[i].Outcome, st.Steps[i].EndedAt = "FAILED", &ts
				st.Steps[i].Error, st.Steps[i].Cause = caught(e.Input)
			}
		case stepOf(e.State) >= 0 && isEntered(e.Type):
			n := stepOf(e.State)
			if n != current {
				if i, ok := index[current]; ok && st.Steps[i].Outcome == "RUNNING" {
					ts := e.Timestamp
					st.Steps[i].Outcome, st.Steps[i].EndedAt = "SUCCEEDED", &ts
				}
				if _, seen := index[n]; !seen {
					index[n] = len(st.Steps)
					st.Steps = append(st.Steps, Step{Name: steps[n].name, StartedAt: e.Timestamp, Outcome: "RUNNING"})
				}
				current = n
			}
		case stepOf(e.State) >= 0 && e.Type == "TaskStateExited":
			if i, ok := index[stepOf(e.State)]; ok {
				st.Steps[i].Detail = result(e.Output, steps[stepOf(e.State)].result)
			}
		}
	}
	if i, ok := index[current]; ok && st.Steps[i].Outcome == "RUNNING" {
		switch ex.Status {
		case StatusRunning:
			st.CurrentStep = st.Steps[i].Name
		case StatusSucceeded:
			st.Steps[i].Outcome, st.Steps[i].EndedAt = "SUCCEEDED", ex.StoppedAt
		default: // timed out or aborted inside the step
			st.Steps[i].Outcome, st.Steps[i].EndedAt = "FAILED", ex.StoppedAt
			st.Steps[i].Error, st.Steps[i].Cause = ex.Status, ex.Cause
		}
	}
	return st
}

func isEntered(eventType string) bool {
	switch eventType {
	case "TaskStateEntered", "WaitStateEntered", "ChoiceStateEntered", "PassStateEntered":
		return true
	}
	return false
}

// result reads one field of a state's output: the step's result.
func result(output, field string) map[string]any {
	var doc map[string]json.RawMessage
	if json.Unmarshal([]byte(output), &doc) != nil {
		return nil
	}
	var detail map[string]any
	if json.Unmarshal(doc[field], &detail) != nil {
		return nil
	}
	return detail
}

// caught reads the error a Catch put at $.error.
func caught(input string) (string, string) {
	var doc struct {
		Error struct{ Error, Cause string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(input), &doc)
	return doc.Error.Error, doc.Error.Cause
}
