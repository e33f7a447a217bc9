package stepfunctions

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/workflow"
)

// Steps rebuilds the run's steps from the execution's whole history.
func (m *Machine) Steps(ctx context.Context, executionARN string) ([]runs.Step, error) {
	var events []types.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(m.api, &sfn.GetExecutionHistoryInput{
		ExecutionArn: &executionARN, IncludeExecutionData: aws.Bool(true), MaxResults: 1000,
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, translate(err)
		}
		events = append(events, out.Events...)
	}
	return timeline(events), nil
}

// timeline reads the steps (workflow.Phases) from history events, oldest
// first: a step starts when the first of its states is entered, and ends
// when the next step starts or when the run records a failure in it
// (workflow.RecordFailure); a redrive resumes the step it stopped in. A step
// shows the result its last Task left.
func timeline(events []types.HistoryEvent) []runs.Step {
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
		at := aws.ToTime(e.Timestamp)
		state, input, isEntered := entered(e)
		switch {
		case e.Type == types.HistoryEventTypeExecutionRedriven:
			if s := step(current); s != nil {
				s.Outcome, s.EndedAt, s.Error, s.Cause = runs.OutcomeRunning, nil, "", ""
			}
		case e.Type == types.HistoryEventTypePassStateEntered && state == workflow.RecordFailure:
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
		case e.Type == types.HistoryEventTypeTaskStateExited && e.StateExitedEventDetails != nil:
			d := e.StateExitedEventDetails
			if p := workflow.PhaseOf(aws.ToString(d.Name)); p != nil {
				if s := step(p); s != nil {
					s.Detail = result(aws.ToString(d.Output), p.Result)
				}
			}
		}
	}
	return steps
}

// entered returns the state and the input of a state entered event.
func entered(e types.HistoryEvent) (state, input string, ok bool) {
	switch e.Type {
	case types.HistoryEventTypeTaskStateEntered, types.HistoryEventTypeWaitStateEntered,
		types.HistoryEventTypeChoiceStateEntered, types.HistoryEventTypePassStateEntered:
		if d := e.StateEnteredEventDetails; d != nil {
			return aws.ToString(d.Name), aws.ToString(d.Input), true
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
