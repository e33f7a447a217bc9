package stepfunctions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/stepfunctions"
)

// fakeHistory is a hand-written Step Functions that serves one execution's
// history, three events a page, as GetExecutionHistory's JSON.
type fakeHistory struct {
	events []map[string]any
}

func (h *fakeHistory) Call(_ context.Context, operation string, in, out any) error {
	if operation != "GetExecutionHistory" {
		return fmt.Errorf("the fake serves GetExecutionHistory, not %s", operation)
	}
	var req struct {
		ExecutionARN         string `json:"executionArn"`
		IncludeExecutionData bool   `json:"includeExecutionData"`
		NextToken            string `json:"nextToken"`
	}
	doc, _ := json.Marshal(in)
	if err := json.Unmarshal(doc, &req); err != nil || req.ExecutionARN == "" || !req.IncludeExecutionData {
		return fmt.Errorf("got %s, want the execution ARN and its data asked for", doc)
	}
	from, _ := strconv.Atoi(req.NextToken)
	to := min(from+3, len(h.events))
	page := map[string]any{"events": h.events[from:to]}
	if to < len(h.events) {
		page["nextToken"] = strconv.Itoa(to)
	}
	doc, _ = json.Marshal(page)
	return json.Unmarshal(doc, out)
}

var t0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

// at is the time of the n-th event of a history: they are a second apart.
func at(n int) *time.Time { t := t0.Add(time.Duration(n) * time.Second); return &t }

// event is a history event: a state entered (with its input) or exited
// (with its output), or an execution event.
type event struct {
	typ   string
	state string
	data  any
}

const (
	taskEntered   = "TaskStateEntered"
	taskExited    = "TaskStateExited"
	waitEntered   = "WaitStateEntered"
	choiceEntered = "ChoiceStateEntered"
	passEntered   = "PassStateEntered"
	redriven      = "ExecutionRedriven"
	failed        = "ExecutionFailed"
)

// stepsOf returns the steps the adapter reads from a history, served as
// Step Functions serves it (epoch-second timestamps, member names in lower
// camel case).
func stepsOf(t *testing.T, history ...event) []runs.Step {
	t.Helper()
	var events []map[string]any
	for i, e := range history {
		he := map[string]any{"type": e.typ, "timestamp": float64(at(i).UnixMilli()) / 1e3, "id": i + 1}
		doc, _ := json.Marshal(e.data)
		switch e.typ {
		case taskExited:
			he["stateExitedEventDetails"] = map[string]any{"name": e.state, "output": string(doc)}
		case taskEntered, waitEntered, choiceEntered, passEntered:
			he["stateEnteredEventDetails"] = map[string]any{"name": e.state, "input": string(doc)}
		}
		events = append(events, he)
	}
	m := stepfunctions.New(&fakeHistory{events: events}, "arn:aws:states:us-east-1:123456789012:stateMachine:sandbox-refresh")
	got, err := m.Steps(context.Background(), m.ExecutionARN("run-1"))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestStepsFollowTheStatesOfEachPhase(t *testing.T) {
	got := stepsOf(t,
		event{taskEntered, "PrepareRefresh", nil},
		event{taskEntered, "StartRefresh", nil},
		event{waitEntered, "WaitForRefresh", nil},
		event{taskEntered, "CheckRefresh", nil},
		event{taskExited, "CheckRefresh", map[string]any{"refresh": map[string]any{"done": true}}},
		event{choiceEntered, "IsRefreshDone", nil},
		event{taskEntered, "DropUsers", nil}, // 6
		event{taskExited, "DropUsers", map[string]any{"dropUsers": map[string]any{"frozen": 7}}},
		event{taskEntered, "StartMasking", nil}, // 8
		event{waitEntered, "WaitForMasking", nil},
	)
	want := []runs.Step{
		{Name: "refreshSandbox", StartedAt: *at(0), EndedAt: at(6), Outcome: runs.OutcomeSucceeded, Detail: map[string]any{"done": true}},
		{Name: "dropUsers", StartedAt: *at(6), EndedAt: at(8), Outcome: runs.OutcomeSucceeded, Detail: map[string]any{"frozen": 7.0}},
		{Name: "masking", StartedAt: *at(8), Outcome: runs.OutcomeRunning},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestACaughtFailureEndsItsStepWithTheError(t *testing.T) {
	caught := map[string]any{"error": map[string]any{"Error": "RefreshFailed", "Cause": "the copy ended Stopped"}}
	got := stepsOf(t,
		event{taskEntered, "PrepareRefresh", nil},
		event{taskEntered, "StartRefresh", nil},
		event{taskEntered, "CheckRefresh", nil},
		event{passEntered, "CheckRefreshCaught", caught},
		event{passEntered, "RecordFailure", caught}, // 4
		event{failed, "", nil},
	)
	want := []runs.Step{{Name: "refreshSandbox", StartedAt: *at(0), EndedAt: at(4), Outcome: runs.OutcomeFailed, Error: "RefreshFailed", Cause: "the copy ended Stopped"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestARedriveResumesTheStepItStoppedIn(t *testing.T) {
	caught := map[string]any{"error": map[string]any{"Error": "RunTimedOut", "Cause": "past the deadline"}}
	got := stepsOf(t,
		event{taskEntered, "DropUsers", nil},
		event{taskEntered, "StartMasking", nil}, // 1
		event{taskEntered, "CheckMasking", nil},
		event{passEntered, "RecordFailure", caught},
		event{failed, "", nil},
		event{redriven, "", nil},
		event{taskEntered, "CheckMasking", nil},
		event{taskExited, "CheckMasking", map[string]any{"masking": map[string]any{"status": "SUCCEEDED"}}},
		event{taskEntered, "RecreateUsers", nil}, // 8
	)
	want := []runs.Step{
		{Name: "dropUsers", StartedAt: *at(0), EndedAt: at(1), Outcome: runs.OutcomeSucceeded},
		{Name: "masking", StartedAt: *at(1), EndedAt: at(8), Outcome: runs.OutcomeSucceeded, Detail: map[string]any{"status": "SUCCEEDED"}},
		{Name: "recreateUsers", StartedAt: *at(8), Outcome: runs.OutcomeRunning},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestAnExecutionThatEnteredNoStepHasNone(t *testing.T) {
	if got := stepsOf(t, event{"ExecutionStarted", "", nil}); got == nil || len(got) != 0 {
		t.Fatalf("got %#v, want an empty list (the API shows [])", got)
	}
}
