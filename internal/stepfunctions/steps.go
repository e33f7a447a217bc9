package stepfunctions

import (
	"context"
	"encoding/json"

	"github.com/dcs-access/dcs-access/internal/awsjson"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/workflow"
)

// The history event types the timeline reads.
const (
	executionRedriven  = "ExecutionRedriven"
	taskStateEntered   = "TaskStateEntered"
	taskStateExited    = "TaskStateExited"
	waitStateEntered   = "WaitStateEntered"
	choiceStateEntered = "ChoiceStateEntered"
	passStateEntered   = "PassStateEntered"
)

// The members of GetExecutionHistory's shapes that are sent and read, by
// their wire names.
type (
	getExecutionHistoryInput struct {
		ExecutionARN         string `json:"executionArn"`
		IncludeExecutionData bool   `json:"includeExecutionData"`
		MaxResults           int    `json:"maxResults"`
		NextToken            string `json:"nextToken,omitempty"`
	}
	getExecutionHistoryOutput struct {
		Events    []historyEvent `json:"events"`
		NextToken string         `json:"nextToken"`
	}
	historyEvent struct {
		Type                     string        `json:"type"`
		Timestamp                awsjson.Time  `json:"timestamp"`
		StateEnteredEventDetails *stateEntered `json:"stateEnteredEventDetails"`
		StateExitedEventDetails  *stateExited  `json:"stateExitedEventDetails"`
	}
	stateEntered struct {
		Name  string `json:"name"`
		Input string `json:"input"`
	}
	stateExited struct {
		Name   string `json:"name"`
		Output string `json:"output"`
	}
)

// Steps rebuilds the run's steps from the execution's whole history, page
// by page as the SDK's paginator reads it.
func (m *Machine) Steps(ctx context.Context, executionARN string) ([]runs.Step, error) {
	var events []historyEvent
	in := getExecutionHistoryInput{ExecutionARN: executionARN, IncludeExecutionData: true, MaxResults: 1000}
	for {
		var out getExecutionHistoryOutput
		if err := m.api.Call(ctx, "GetExecutionHistory", in, &out); err != nil {
			return nil, translate(err)
		}
		events = append(events, out.Events...)
		if out.NextToken == "" {
			return timeline(events), nil
		}
		in.NextToken = out.NextToken
	}
}

// timeline reads the steps (workflow.Phases) from history events, oldest
// first: a step starts when the first of its states is entered, and ends
// when the next step starts or when the run records a failure in it
// (workflow.RecordFailure); a redrive resumes the step it stopped in. A step
// shows the result its last Task left.
func timeline(events []historyEvent) []runs.Step {
	steps := []runs.Step{}
	index := map[*workflow.Phase]int{} // a phase's position in steps
	var current *workflow.Phase
	step := func(p *workflow.Phase) *runs.Step {
		if i, ok := index[p]; ok {
			return &steps[i]
		}
		return nil
	}
	for _, e := range events {
		at := e.Timestamp.Time
		state, input, isEntered := entered(e)
		switch {
		case e.Type == executionRedriven:
			if s := step(current); s != nil {
				s.Outcome, s.EndedAt, s.Error, s.Cause = runs.OutcomeRunning, nil, "", ""
			}
		case e.Type == passStateEntered && state == workflow.RecordFailure:
			if s := step(current); s != nil {
				s.Outcome, s.EndedAt = runs.OutcomeFailed, &at
				s.Error, s.Cause = caught(input)
			}
		case isEntered && workflow.PhaseOf(state) != nil:
			p := workflow.PhaseOf(state)
			if p == current {
				continue
			}
			if s := step(current); s != nil && s.Outcome == runs.OutcomeRunning {
				s.Outcome, s.EndedAt = runs.OutcomeSucceeded, &at
			}
			if step(p) == nil {
				index[p] = len(steps)
				steps = append(steps, runs.Step{Name: p.Name, StartedAt: at, Outcome: runs.OutcomeRunning})
			}
			current = p
		case e.Type == taskStateExited && e.StateExitedEventDetails != nil:
			d := e.StateExitedEventDetails
			if p := workflow.PhaseOf(d.Name); p != nil {
				if s := step(p); s != nil {
					s.Detail = result(d.Output, p.Result)
				}
			}
		}
	}
	return steps
}

// entered returns the state and the input of a state entered event.
func entered(e historyEvent) (state, input string, ok bool) {
	switch e.Type {
	case taskStateEntered, waitStateEntered, choiceStateEntered, passStateEntered:
		if d := e.StateEnteredEventDetails; d != nil {
			return d.Name, d.Input, true
		}
	}
	return "", "", false
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
