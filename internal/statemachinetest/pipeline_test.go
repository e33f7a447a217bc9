package statemachinetest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/testenv"
)

// The error types of the pipeline steps: Retry/Catch match their Go type names.
type (
	TransientError struct{ msg string }
	PermanentError struct{ msg string }
	MaskingFailed  struct{ msg string }
	RefreshFailed  struct{ msg string }
	RunTimedOut    struct{ msg string }
)

func (e *TransientError) Error() string { return e.msg }
func (e *PermanentError) Error() string { return e.msg }
func (e *MaskingFailed) Error() string  { return e.msg }
func (e *RefreshFailed) Error() string  { return e.msg }
func (e *RunTimedOut) Error() string    { return e.msg }

const (
	functionArn = "arn:aws:lambda:us-east-1:123456789012:function:dcs-access-pipeline-steps"
	waitScale   = 0.001 // a 30 s Wait takes 30 ms
)

type step func(run map[string]any) (any, error)

// fakeSteps stands in for the pipeline-steps function: one fake per step name,
// recording every call in order.
type fakeSteps struct {
	mu    sync.Mutex
	steps map[string]step
	calls []string
	runs  map[string]map[string]any // the last run each step was given
}

func (f *fakeSteps) invoke(_ context.Context, function string, payload json.RawMessage) (any, error) {
	var in struct {
		Step string         `json:"step"`
		Run  map[string]any `json:"run"`
	}
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, &PermanentError{"bad payload: " + err.Error()}
	}
	f.mu.Lock()
	f.calls = append(f.calls, in.Step)
	f.runs[in.Step] = in.Run
	fn := f.steps[in.Step]
	f.mu.Unlock()
	if fn == nil {
		return nil, &PermanentError{fmt.Sprintf("function %s has no step %q", function, in.Step)}
	}
	return fn(in.Run)
}

func (f *fakeSteps) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == name {
			n++
		}
	}
	return n
}

func (f *fakeSteps) callOrder() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeSteps) lastRun(name string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs[name]
}

// nextWait doubles the previous waitSeconds up to the cap, as the Go steps do.
func nextWait(run map[string]any, field string) float64 {
	prev, _ := run[field].(map[string]any)["waitSeconds"].(float64)
	return min(prev*2, 1800)
}

// happySteps: the refresh completes on poll refreshPolls, masking on poll maskingPolls.
func happySteps(refreshPolls, maskingPolls int) map[string]step {
	var refreshN, maskingN atomic.Int64
	return map[string]step{
		"prepareRefresh": func(map[string]any) (any, error) {
			return map[string]any{"sandboxInfoId": "0GQ000000000001", "baselineProcessId": "0GR000000000001", "startedAt": "2026-01-01T00:00:00Z", "waitSeconds": 30, "done": false, "status": ""}, nil
		},
		"startRefresh": func(map[string]any) (any, error) {
			return map[string]any{"sandboxInfoId": "0GQ000000000001", "startedAt": "2026-01-01T00:00:00Z", "waitSeconds": 30, "done": false, "status": "Pending"}, nil
		},
		"checkRefresh": func(run map[string]any) (any, error) {
			n := refreshN.Add(1)
			done := n >= int64(refreshPolls)
			status := map[bool]string{true: "Completed", false: "Processing"}[done]
			return map[string]any{"sandboxInfoId": "0GQ000000000001", "waitSeconds": nextWait(run, "refresh"), "done": done, "status": status, "copyProgress": 100 * n / int64(refreshPolls)}, nil
		},
		"dropUsers": func(map[string]any) (any, error) {
			return map[string]any{"frozen": 7, "deactivated": 7, "kept": 2, "batches": 1}, nil
		},
		"maskingBaseline": func(map[string]any) (any, error) {
			return map[string]any{"executionId": "", "status": "", "waitSeconds": 30, "done": false,
				"baseline": map[string]any{"takenAt": "2026-01-01T01:00:00Z", "since": "2025-12-31T00:30:00Z", "count": 1, "ids": []any{"1233"}}}, nil
		},
		"startMasking": func(run map[string]any) (any, error) {
			// The Go step keeps the baseline it started against.
			return map[string]any{"executionId": "1234", "status": "QUEUED", "waitSeconds": 30, "done": false, "baseline": run["masking"].(map[string]any)["baseline"]}, nil
		},
		"checkMasking": func(run map[string]any) (any, error) {
			done := maskingN.Add(1) >= int64(maskingPolls)
			status := map[bool]string{true: "SUCCEEDED", false: "RUNNING"}[done]
			return map[string]any{"executionId": "1234", "status": status, "waitSeconds": nextWait(run, "masking"), "done": done}, nil
		},
		"recreateUsers": func(map[string]any) (any, error) {
			return map[string]any{"created": 1, "reactivated": 1, "results": []any{
				map[string]any{"username": "qa@example.com.dev1", "outcome": "created"},
				map[string]any{"username": "dev@example.com.dev1", "outcome": "reactivated"},
			}}, nil
		},
	}
}

type harness struct {
	*Server
	steps   *fakeSteps
	machine string
	status  *StatusEventReceiver // the status change events the stand-in sent
	// throttle answers this many invocations with HTTP 429 before they reach a step.
	throttle atomic.Int64

	mu         sync.Mutex
	wantEvents map[string]int // by execution: the status events the test expected last
}

// newHarness starts a stand-in whose Lambda tasks go to fake steps, with the
// real definition (or a variant of it, see edit) created as a state machine.
func newHarness(t *testing.T, steps map[string]step, cfg Config, edit func(map[string]any)) *harness {
	t.Helper()
	h := &harness{steps: &fakeSteps{steps: steps, runs: map[string]map[string]any{}}, wantEvents: map[string]int{}}
	invoke := LambdaInvokeHandler(h.steps.invoke)
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.throttle.Add(-1) >= 0 {
			w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
			http.Error(w, `{"message":"Rate exceeded"}`, http.StatusTooManyRequests)
			return
		}
		invoke.ServeHTTP(w, r)
	}))
	t.Cleanup(lambda.Close)
	cfg.LambdaEndpoint = lambda.URL
	if cfg.StatusEventsEndpoint == "" {
		h.status = NewStatusEventReceiver(t)
		cfg.StatusEventsEndpoint = h.status.URL
	}
	if cfg.WaitScale == 0 {
		cfg.WaitScale = waitScale
	}
	if cfg.RetryScale == 0 {
		cfg.RetryScale = 0.001
	}
	h.Server = Start(t, cfg)
	def := Definition(t, map[string]string{"PipelineStepsFunctionArn": functionArn})
	if edit != nil {
		var d map[string]any
		if err := json.Unmarshal([]byte(def), &d); err != nil {
			t.Fatal(err)
		}
		edit(d)
		b, _ := json.Marshal(d)
		def = string(b)
	}
	h.machine = h.CreateStateMachine(t, "sandbox-refresh", def)
	return h
}

func runInput(runID string) string {
	b, _ := json.Marshal(map[string]any{
		"runId": runID, "tenant": "acme", "sandbox": "dev1",
		"requestedAt": "2026-01-01T00:00:00Z", "deadline": "2026-01-04T00:00:00Z",
		"plan": map[string]any{"pollIntervals": map[string]any{"refreshSeconds": 30, "maxRefreshSeconds": 1800}},
	})
	return string(b)
}

func (h *harness) start(t *testing.T, name, input string) string {
	t.Helper()
	out, err := h.Client.StartExecution(context.Background(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String(h.machine), Name: aws.String(name), Input: aws.String(input),
	})
	if err != nil {
		t.Fatalf("StartExecution %s: %v", name, err)
	}
	return aws.ToString(out.ExecutionArn)
}

func (h *harness) run(t *testing.T, name string) (string, *sfn.DescribeExecutionOutput) {
	t.Helper()
	arn := h.start(t, name, runInput(name))
	return arn, h.WaitForEnd(t, arn, 20*time.Second)
}

// statusEvents waits for the execution's status change events, checks each
// one's envelope and detail against the execution, and returns them.
func (h *harness) statusEvents(t *testing.T, arn string, n int) []StatusEvent {
	t.Helper()
	events := h.status.WaitFor(t, arn, n)
	if len(events) != n {
		t.Fatalf("%d status events, want %d: %+v", len(events), n, events)
	}
	// A duplicate would come late: look again when the test is over (before
	// the stand-in stops), with the count the test expected last.
	h.mu.Lock()
	_, watched := h.wantEvents[arn]
	h.wantEvents[arn] = n
	h.mu.Unlock()
	if !watched {
		t.Cleanup(func() {
			h.mu.Lock()
			want := h.wantEvents[arn]
			h.mu.Unlock()
			if later := h.status.Events(arn); len(later) != want {
				t.Errorf("%d status events for %s by the end of the test, want %d: %+v", len(later), arn, want, later)
			}
		})
	}
	ids := map[string]bool{}
	for _, e := range events {
		d := e.Detail
		if e.Version != "0" || e.DetailType != "Step Functions Execution Status Change" || e.Source != "aws.states" ||
			e.Account != "123456789012" || e.Region != "us-east-1" || !slices.Equal(e.Resources, []string{arn}) || ids[e.ID] {
			t.Errorf("status event envelope %s", e.Raw)
		}
		ids[e.ID] = true
		if _, err := uuid.Parse(e.ID); err != nil {
			t.Errorf("status event id %q: %v", e.ID, err)
		}
		if tm, err := time.Parse(time.RFC3339, e.Time); err != nil || tm.Nanosecond() != 0 {
			t.Errorf("status event time %q (%v), want RFC 3339 in whole seconds", e.Time, err)
		}
		name := arn[strings.LastIndex(arn, ":")+1:]
		if d.ExecutionArn != arn || d.StateMachineArn != h.machine || d.Name != name || d.Input != runInput(name) ||
			d.StopDate == nil || *d.StopDate < d.StartDate || d.StartDate == 0 {
			t.Errorf("status event detail %s", e.Raw)
		}
		// Exactly the fields of the AWS event, nulls included.
		var raw struct {
			Envelope map[string]json.RawMessage
			Detail   map[string]json.RawMessage `json:"detail"`
		}
		_ = json.Unmarshal(e.Raw, &raw.Envelope)
		_ = json.Unmarshal(raw.Envelope["detail"], &raw.Detail)
		if got, want := slices.Sorted(maps.Keys(raw.Envelope)), []string{"account", "detail", "detail-type", "id", "region", "resources", "source", "time", "version"}; !slices.Equal(got, want) {
			t.Errorf("status event fields %v, want %v", got, want)
		}
		if got, want := slices.Sorted(maps.Keys(raw.Detail)), []string{"cause", "error", "executionArn", "input", "inputDetails", "name", "output", "outputDetails",
			"redriveCount", "redriveDate", "redriveStatus", "redriveStatusReason", "startDate", "stateMachineArn", "status", "stopDate"}; !slices.Equal(got, want) {
			t.Errorf("status event detail fields %v, want %v", got, want)
		}
		// What the sandbox-refresh-events function decodes it with.
		var lambdaEvent lambdaevents.EventBridgeEvent
		if err := json.Unmarshal(e.Raw, &lambdaEvent); err != nil || lambdaEvent.DetailType != e.DetailType || lambdaEvent.Time.IsZero() {
			t.Errorf("as events.EventBridgeEvent: %+v (%v)", lambdaEvent, err)
		}
	}
	return events
}

// checkStatus checks a status event's status, error and cause against the
// execution's DescribeExecution (out).
func checkStatus(t *testing.T, e StatusEvent, out *sfn.DescribeExecutionOutput) {
	t.Helper()
	d := e.Detail
	str := func(p *string) string { return aws.ToString(p) }
	ms := func(tm *time.Time) int64 { return tm.UnixMilli() }
	if d.Status != string(out.Status) || str(d.Error) != str(out.Error) || str(d.Cause) != str(out.Cause) ||
		d.StartDate != ms(out.StartDate) || d.StopDate == nil || *d.StopDate != ms(out.StopDate) ||
		d.RedriveCount != int(aws.ToInt32(out.RedriveCount)) || d.RedriveStatus != string(out.RedriveStatus) {
		t.Errorf("status event detail %s\ndoes not match DescribeExecution %s %s (%s) redrive %d %s", e.Raw,
			out.Status, str(out.Error), str(out.Cause), aws.ToInt32(out.RedriveCount), out.RedriveStatus)
	}
	if out.Status == types.ExecutionStatusSucceeded {
		if d.Output == nil || *d.Output != str(out.Output) || d.Error != nil || d.Cause != nil {
			t.Errorf("SUCCEEDED status event output/error: %s", e.Raw)
		}
	} else if d.Output != nil {
		t.Errorf("%s status event has an output: %s", d.Status, e.Raw)
	}
}

// failedIn returns the last state entered before the execution failed, and
// checks that the failure is the one DescribeExecution reports.
func failedIn(t *testing.T, history []types.HistoryEvent) string {
	t.Helper()
	last := history[len(history)-1]
	if last.Type != types.HistoryEventTypeExecutionFailed {
		t.Fatalf("last event %s, want ExecutionFailed", last.Type)
	}
	states := entered(history)
	return states[len(states)-1]
}

func entered(events []types.HistoryEvent) []string {
	var names []string
	for _, e := range events {
		if e.StateEnteredEventDetails != nil {
			names = append(names, aws.ToString(e.StateEnteredEventDetails.Name))
		}
	}
	return names
}

func eventsOfType(events []types.HistoryEvent, typ types.HistoryEventType) []types.HistoryEvent {
	var out []types.HistoryEvent
	for _, e := range events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func TestHappyPath(t *testing.T) {
	t.Parallel()
	h := newHarness(t, happySteps(3, 2), Config{}, nil)
	arn, out := h.run(t, "run-happy")

	if out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("status = %s (%s: %s), want SUCCEEDED", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	want := []string{"prepareRefresh", "startRefresh", "checkRefresh", "checkRefresh", "checkRefresh", "dropUsers", "maskingBaseline", "startMasking", "checkMasking", "checkMasking", "recreateUsers"}
	if got := h.steps.callOrder(); !slices.Equal(got, want) {
		t.Errorf("steps called %v, want %v", got, want)
	}
	// Each step gets the whole run, with the earlier steps' results at their ResultPaths.
	run := h.steps.lastRun("recreateUsers")
	if run["runId"] != "run-happy" || run["dropUsers"].(map[string]any)["frozen"] != 7.0 ||
		run["masking"].(map[string]any)["status"] != "SUCCEEDED" || run["refresh"].(map[string]any)["status"] != "Completed" {
		t.Errorf("recreateUsers got run %v", run)
	}
	var output map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &output); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"refresh", "dropUsers", "masking", "recreateUsers", "plan"} {
		if output[field] == nil {
			t.Errorf("output has no %s: %v", field, output)
		}
	}
	if out.StartDate == nil || out.StopDate == nil || out.StopDate.Before(*out.StartDate) || out.RedriveCount == nil || *out.RedriveCount != 0 {
		t.Errorf("dates/redriveCount: start %v stop %v redriveCount %v", out.StartDate, out.StopDate, out.RedriveCount)
	}

	// One SUCCEEDED status change event, with the execution's output.
	e := h.statusEvents(t, arn, 1)[0]
	checkStatus(t, e, out)
	if e.Detail.Status != "SUCCEEDED" || e.Detail.RedriveCount != 0 || e.Detail.RedriveDate != nil ||
		e.Detail.RedriveStatus != "NOT_REDRIVABLE" || aws.ToString(e.Detail.RedriveStatusReason) != "Execution is SUCCEEDED and cannot be redriven" {
		t.Errorf("status event %s", e.Raw)
	}

	// A succeeded execution cannot be redriven; an unknown one does not exist.
	if out.RedriveStatus != types.ExecutionRedriveStatusNotRedrivable {
		t.Errorf("redriveStatus = %s", out.RedriveStatus)
	}
	_, err := h.Client.RedriveExecution(context.Background(), &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)})
	if !IsError[*types.ExecutionNotRedrivable](err) {
		t.Errorf("RedriveExecution of a SUCCEEDED execution: %v, want ExecutionNotRedrivable", err)
	}
	_, err = h.Client.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn + "-nope")})
	if !IsError[*types.ExecutionDoesNotExist](err) {
		t.Errorf("DescribeExecution of an unknown ARN: %v, want ExecutionDoesNotExist", err)
	}
}

// The history is what the run status is rebuilt from: each state's entered and
// exited events with names, and each Lambda call's input and output.
func TestHistoryShowsEveryStateEnteredAndExited(t *testing.T) {
	t.Parallel()
	h := newHarness(t, happySteps(2, 1), Config{}, nil)
	arn, out := h.run(t, "run-history")
	if out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("status = %s", out.Status)
	}
	events := h.History(t, arn)

	wantStates := []string{"PrepareRefresh", "StartRefresh", "WaitForRefresh", "CheckRefresh", "IsRefreshDone", "WaitForRefresh", "CheckRefresh", "IsRefreshDone",
		"DropUsers", "MaskingBaseline", "StartMasking", "WaitForMasking", "CheckMasking", "IsMaskingDone", "RecreateUsers", "Succeeded"}
	if got := entered(events); !slices.Equal(got, wantStates) {
		t.Errorf("states entered %v\nwant %v", got, wantStates)
	}
	if events[0].Type != types.HistoryEventTypeExecutionStarted || events[len(events)-1].Type != types.HistoryEventTypeExecutionSucceeded {
		t.Errorf("first/last events %s/%s", events[0].Type, events[len(events)-1].Type)
	}
	if in := aws.ToString(events[0].ExecutionStartedEventDetails.Input); in != runInput("run-history") {
		t.Errorf("ExecutionStarted input = %s", in)
	}
	var open *types.HistoryEvent
	for i, e := range events {
		if e.Id != int64(i+1) || e.PreviousEventId != int64(i) || e.Timestamp == nil || (i > 0 && e.Timestamp.Before(*events[i-1].Timestamp)) {
			t.Errorf("event %d: id %d previous %d timestamp %v", i, e.Id, e.PreviousEventId, e.Timestamp)
		}
		switch {
		case e.StateEnteredEventDetails != nil:
			if open != nil {
				t.Errorf("%s entered before %s exited", aws.ToString(e.StateEnteredEventDetails.Name), aws.ToString(open.StateEnteredEventDetails.Name))
			}
			open = &events[i]
			prefix := strings.TrimSuffix(string(e.Type), "StateEntered")
			if !slices.Contains([]string{"Task", "Wait", "Choice", "Succeed"}, prefix) {
				t.Errorf("unexpected event type %s", e.Type)
			}
		case e.StateExitedEventDetails != nil:
			if open == nil || aws.ToString(open.StateEnteredEventDetails.Name) != aws.ToString(e.StateExitedEventDetails.Name) ||
				strings.TrimSuffix(string(open.Type), "Entered") != strings.TrimSuffix(string(e.Type), "Exited") {
				t.Errorf("%s %s does not close the open state", e.Type, aws.ToString(e.StateExitedEventDetails.Name))
			}
			open = nil
		}
	}

	// Lambda Task: TaskStateEntered, LambdaFunctionScheduled (input = the Parameters),
	// LambdaFunctionStarted, LambdaFunctionSucceeded (output = the step's result), TaskStateExited.
	i := slices.IndexFunc(events, func(e types.HistoryEvent) bool {
		return e.StateEnteredEventDetails != nil && aws.ToString(e.StateEnteredEventDetails.Name) == "DropUsers"
	})
	got := []types.HistoryEventType{events[i].Type, events[i+1].Type, events[i+2].Type, events[i+3].Type, events[i+4].Type}
	want := []types.HistoryEventType{types.HistoryEventTypeTaskStateEntered, types.HistoryEventTypeLambdaFunctionScheduled,
		types.HistoryEventTypeLambdaFunctionStarted, types.HistoryEventTypeLambdaFunctionSucceeded, types.HistoryEventTypeTaskStateExited}
	if !slices.Equal(got, want) {
		t.Fatalf("DropUsers events %v, want %v", got, want)
	}
	sched := events[i+1].LambdaFunctionScheduledEventDetails
	if aws.ToString(sched.Resource) != functionArn || !strings.Contains(aws.ToString(sched.Input), `"step":"dropUsers"`) || aws.ToInt64(sched.TimeoutInSeconds) != 300 {
		t.Errorf("LambdaFunctionScheduled = %+v", sched)
	}
	var result, exited map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(events[i+3].LambdaFunctionSucceededEventDetails.Output)), &result); err != nil || result["frozen"] != 7.0 {
		t.Errorf("LambdaFunctionSucceeded output = %v (%v)", result, err)
	}
	if err := json.Unmarshal([]byte(aws.ToString(events[i+4].StateExitedEventDetails.Output)), &exited); err != nil || !reflect.DeepEqual(exited["dropUsers"], result) {
		t.Errorf("DropUsers exited with %v (%v), want the result at $.dropUsers", exited, err)
	}
	// Every Task is a Lambda function: the definition sends no events itself.
	if ts := eventsOfType(events, types.HistoryEventTypeTaskScheduled); len(ts) != 0 {
		t.Errorf("TaskScheduled events %+v", ts)
	}

	// Paging forwards and backwards gives the same events.
	var paged []types.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(h.Client, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 7, ReverseOrder: true})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) > 7 {
			t.Fatalf("page of %d events, maxResults 7", len(page.Events))
		}
		paged = append(paged, page.Events...)
	}
	slices.Reverse(paged)
	if len(paged) != len(events) || paged[0].Id != 1 || paged[len(paged)-1].Id != events[len(events)-1].Id {
		t.Errorf("reverse paging gave %d events, want %d", len(paged), len(events))
	}
}

// Users stay dropped unless masking SUCCEEDED. The step throws MaskingFailed:
// not caught, so the execution fails in CheckMasking (redrivable). Or, defence
// in depth, it reports a finished non-SUCCEEDED status: the MaskingNotSucceeded
// Fail state ends the run with the same error.
func TestMaskingNotSucceededNeverRecreatesUsers(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		checkMasking step
		failedIn     string
		cause        string // contained in the execution's cause
	}{
		"checkMasking throws MaskingFailed": {
			checkMasking: func(map[string]any) (any, error) { return nil, &MaskingFailed{"DCS execution 1234 ended FAILED"} },
			failedIn:     "CheckMasking", cause: "DCS execution 1234 ended FAILED",
		},
		"checkMasking reports done FAILED": {
			checkMasking: func(map[string]any) (any, error) {
				return map[string]any{"executionId": "1234", "status": "FAILED", "waitSeconds": 30, "done": true}, nil
			},
			failedIn: "MaskingNotSucceeded", cause: "DCS masking execution 1234 ended with status FAILED",
		},
		"checkMasking reports done CANCELLED": {
			checkMasking: func(map[string]any) (any, error) {
				return map[string]any{"executionId": "1234", "status": "CANCELLED", "waitSeconds": 30, "done": true}, nil
			},
			failedIn: "MaskingNotSucceeded", cause: "DCS masking execution 1234 ended with status CANCELLED",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			steps := happySteps(1, 1)
			steps["checkMasking"] = c.checkMasking
			h := newHarness(t, steps, Config{}, nil)
			arn, out := h.run(t, "run-masking")

			if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "MaskingFailed" || !strings.Contains(aws.ToString(out.Cause), c.cause) {
				t.Fatalf("status %s error %s cause %q, want FAILED MaskingFailed %q", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause), c.cause)
			}
			if n := h.steps.count("recreateUsers"); n != 0 {
				t.Errorf("recreateUsers called %d times after masking failed", n)
			}
			history := h.History(t, arn)
			if got := failedIn(t, history); got != c.failedIn {
				t.Errorf("failed in %s, want %s", got, c.failedIn)
			}
			if states := entered(history); slices.Contains(states, "RecreateUsers") || slices.Contains(states, "RecordFailure") {
				t.Errorf("states entered %v", states)
			}
			if c.failedIn == "MaskingNotSucceeded" && len(eventsOfType(history, types.HistoryEventTypeFailStateEntered)) != 1 {
				t.Error("no FailStateEntered for MaskingNotSucceeded")
			}
			if out.RedriveStatus != types.ExecutionRedriveStatusRedrivable {
				t.Errorf("redriveStatus %s", out.RedriveStatus)
			}
			e := h.statusEvents(t, arn, 1)[0]
			checkStatus(t, e, out)
			if e.Detail.Status != "FAILED" || aws.ToString(e.Detail.Error) != "MaskingFailed" || e.Detail.RedriveStatus != "REDRIVABLE" {
				t.Errorf("status event %s", e.Raw)
			}
		})
	}
}

// The masking start runs against the baseline MaskingBaseline stored, and a
// retried start against the same one: the baseline is not taken again
// between a start whose answer was lost and its retry.
func TestEveryMaskingStartHasTheBaselineTakenBeforeIt(t *testing.T) {
	t.Parallel()
	steps := happySteps(1, 1)
	happyStart := steps["startMasking"]
	var starts atomic.Int64
	var baselines []any
	var mu sync.Mutex
	steps["startMasking"] = func(run map[string]any) (any, error) {
		mu.Lock()
		baselines = append(baselines, run["masking"].(map[string]any)["baseline"])
		mu.Unlock()
		if starts.Add(1) <= 2 {
			return nil, &TransientError{"the answer of DCS's start was lost"}
		}
		return happyStart(run)
	}
	h := newHarness(t, steps, Config{}, nil)
	_, out := h.run(t, "run-baseline")
	if out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("status %s (%s)", out.Status, aws.ToString(out.Error))
	}
	order := strings.Join(h.steps.callOrder(), " ")
	if !strings.Contains(order, "dropUsers maskingBaseline startMasking startMasking startMasking checkMasking") || h.steps.count("maskingBaseline") != 1 {
		t.Fatalf("steps called %s, want the baseline once, before the start and its two retries", order)
	}
	want := map[string]any{"takenAt": "2026-01-01T01:00:00Z", "since": "2025-12-31T00:30:00Z", "count": 1.0, "ids": []any{"1233"}}
	for i, b := range baselines {
		if !reflect.DeepEqual(b, want) {
			t.Errorf("start %d got baseline %v, want %v", i+1, b, want)
		}
	}
}

// PermanentError is not retried and not caught: the execution fails in the
// Task at once, and stays redrivable from there.
func TestPermanentErrorFailsAtOnceWithoutRetry(t *testing.T) {
	t.Parallel()
	steps := happySteps(1, 1)
	steps["startMasking"] = func(map[string]any) (any, error) {
		return nil, &PermanentError{"DCS answered 401: the API token was revoked"}
	}
	h := newHarness(t, steps, Config{}, nil)
	arn, out := h.run(t, "run-permanent")

	if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "PermanentError" || out.RedriveStatus != types.ExecutionRedriveStatusRedrivable {
		t.Fatalf("status %s error %s redriveStatus %s, want FAILED PermanentError REDRIVABLE", out.Status, aws.ToString(out.Error), out.RedriveStatus)
	}
	if n := h.steps.count("startMasking"); n != 1 {
		t.Errorf("startMasking called %d times, want 1 (no retry)", n)
	}
	if n := h.steps.count("checkMasking") + h.steps.count("recreateUsers"); n != 0 {
		t.Errorf("%d later steps called", n)
	}
	history := h.History(t, arn)
	if got := failedIn(t, history); got != "StartMasking" {
		t.Errorf("failed in %s, want StartMasking (states entered %v)", got, entered(history))
	}
	failed := eventsOfType(history, types.HistoryEventTypeLambdaFunctionFailed)
	if len(failed) != 1 || aws.ToString(failed[0].LambdaFunctionFailedEventDetails.Error) != "PermanentError" ||
		!strings.Contains(aws.ToString(failed[0].LambdaFunctionFailedEventDetails.Cause), "401") {
		t.Errorf("LambdaFunctionFailed events %+v", failed)
	}
	e := h.statusEvents(t, arn, 1)[0]
	checkStatus(t, e, out)
	if e.Detail.Status != "FAILED" || aws.ToString(e.Detail.Error) != "PermanentError" || !strings.Contains(aws.ToString(e.Detail.Cause), "401") {
		t.Errorf("status event %s", e.Raw)
	}
}

func TestTransientErrorsAreRetried(t *testing.T) {
	t.Parallel()
	steps := happySteps(1, 1)
	var drops atomic.Int64
	happyDrop := steps["dropUsers"]
	steps["dropUsers"] = func(run map[string]any) (any, error) {
		if drops.Add(1) <= 2 {
			return nil, &TransientError{"Salesforce answered 503"}
		}
		return happyDrop(run)
	}
	h := newHarness(t, steps, Config{}, nil)
	h.throttle.Store(1) // and Lambda itself throttles the first invocation (Lambda.TooManyRequestsException)
	arn, out := h.run(t, "run-transient")

	if out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("status %s (%s: %s), want SUCCEEDED", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	if n := h.steps.count("dropUsers"); n != 3 {
		t.Errorf("dropUsers called %d times, want 3", n)
	}
	if n := h.steps.count("prepareRefresh"); n != 1 {
		t.Errorf("prepareRefresh reached %d times, want 1 (after one throttled invocation)", n)
	}
	history := h.History(t, arn)
	var errs []string
	for _, e := range eventsOfType(history, types.HistoryEventTypeLambdaFunctionFailed) {
		errs = append(errs, aws.ToString(e.LambdaFunctionFailedEventDetails.Error))
	}
	if want := []string{"Lambda.TooManyRequestsException", "TransientError", "TransientError"}; !slices.Equal(errs, want) {
		t.Errorf("LambdaFunctionFailed errors %v, want %v", errs, want)
	}
	// Retries stay inside the state: entered once, scheduled three times.
	if n := strings.Count(strings.Join(entered(history), ","), "DropUsers"); n != 1 {
		t.Errorf("DropUsers entered %d times", n)
	}
	if e := h.statusEvents(t, arn, 1)[0]; e.Detail.Status != "SUCCEEDED" {
		t.Errorf("status event %s", e.Raw)
	}
}

// failureRecord returns the input of the Failed state's $.error: the record
// RecordFailure shaped from the caught error.
func failureRecord(t *testing.T, history []types.HistoryEvent) map[string]any {
	t.Helper()
	for _, e := range slices.Backward(history) {
		if e.Type == types.HistoryEventTypeFailStateEntered && aws.ToString(e.StateEnteredEventDetails.Name) == "Failed" {
			var in struct{ Error map[string]any }
			if err := json.Unmarshal([]byte(aws.ToString(e.StateEnteredEventDetails.Input)), &in); err != nil {
				t.Fatal(err)
			}
			return in.Error
		}
	}
	t.Fatalf("the Failed state was not entered: %v", entered(history))
	return nil
}

// A refresh that never completes: the Wait loop backs off until checkRefresh
// finds the run past its deadline and throws RunTimedOut, which is caught:
// CheckRefreshCaught, RecordFailure, then Failed ends the run with its ErrorPath/CausePath.
func TestRefreshNeverDoneEndsInRunTimedOut(t *testing.T) {
	t.Parallel()
	const polls = 5
	steps := happySteps(1, 1)
	var n atomic.Int64
	steps["checkRefresh"] = func(run map[string]any) (any, error) {
		if n.Add(1) >= polls {
			return nil, &RunTimedOut{"the run passed its deadline 2026-01-04T00:00:00Z"}
		}
		return map[string]any{"sandboxInfoId": "0GQ", "waitSeconds": nextWait(run, "refresh"), "done": false, "status": "Processing"}, nil
	}
	h := newHarness(t, steps, Config{}, nil)
	arn, out := h.run(t, "run-never-done")

	if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "RunTimedOut" || !strings.Contains(aws.ToString(out.Cause), "passed its deadline") {
		t.Fatalf("status %s error %s cause %q, want FAILED RunTimedOut", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	if got := h.steps.count("checkRefresh"); got != polls {
		t.Errorf("checkRefresh called %d times, want %d", got, polls)
	}
	if got := h.steps.count("dropUsers"); got != 0 {
		t.Errorf("dropUsers called %d times", got)
	}
	history := h.History(t, arn)
	states := entered(history)
	if tail := states[len(states)-4:]; !slices.Equal(tail, []string{"CheckRefresh", "CheckRefreshCaught", "RecordFailure", "Failed"}) {
		t.Errorf("last states entered %v", tail)
	}
	if rec := failureRecord(t, history); rec["failedStep"] != "CheckRefresh" || rec["error"] != "RunTimedOut" || rec["cause"] != aws.ToString(out.Cause) {
		t.Errorf("failure record %v", rec)
	}
	e := h.statusEvents(t, arn, 1)[0]
	checkStatus(t, e, out)
	if e.Detail.Status != "FAILED" || aws.ToString(e.Detail.Error) != "RunTimedOut" {
		t.Errorf("status event %s", e.Raw)
	}
	// The Wait state waited $.refresh.waitSeconds (scaled): 30, 60, 120, 240 s.
	var waited []time.Duration
	var since time.Time
	for _, e := range history {
		switch e.Type {
		case types.HistoryEventTypeWaitStateEntered:
			since = *e.Timestamp
		case types.HistoryEventTypeWaitStateExited:
			waited = append(waited, e.Timestamp.Sub(since))
		}
	}
	if len(waited) != polls {
		t.Fatalf("%d waits, want %d", len(waited), polls)
	}
	for i, d := range waited[:polls-1] {
		want := time.Duration(30<<i) * time.Second * time.Duration(waitScale*1e6) / 1e6
		if d < want-2*time.Millisecond || d > want+time.Second { // never the unscaled 30 s and more
			t.Errorf("wait %d took %v, want about %v", i, d, want)
		}
	}
}

// The final outcomes are caught on PrepareRefresh and both poll Tasks, with
// the step that failed.
func TestFinalOutcomesAreCaught(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		step, state string
		err         error
		notCalled   string
	}{
		"RefreshFailed in PrepareRefresh": {"prepareRefresh", "PrepareRefresh", &RefreshFailed{"the next refresh is allowed after Jan 2"}, "startRefresh"},
		"RefreshFailed in CheckRefresh":   {"checkRefresh", "CheckRefresh", &RefreshFailed{"the copy of sandbox dev1 ended Stopped"}, "dropUsers"},
		"RunTimedOut in CheckMasking":     {"checkMasking", "CheckMasking", &RunTimedOut{"the run passed its deadline"}, "recreateUsers"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			steps := happySteps(1, 1)
			steps[c.step] = func(map[string]any) (any, error) { return nil, c.err }
			h := newHarness(t, steps, Config{}, nil)
			arn, out := h.run(t, "run-final")

			errType := errorType(c.err)
			if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != errType || !strings.Contains(aws.ToString(out.Cause), c.err.Error()) {
				t.Fatalf("status %s error %s cause %q, want FAILED %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause), errType)
			}
			if n := h.steps.count(c.step); n != 1 {
				t.Errorf("%s called %d times, want 1 (no retry)", c.step, n)
			}
			if n := h.steps.count(c.notCalled); n != 0 {
				t.Errorf("%s called %d times", c.notCalled, n)
			}
			history := h.History(t, arn)
			if got := failedIn(t, history); got != "Failed" {
				t.Errorf("failed in %s, want Failed", got)
			}
			if rec := failureRecord(t, history); rec["failedStep"] != c.state || rec["error"] != errType {
				t.Errorf("failure record %v", rec)
			}
			e := h.statusEvents(t, arn, 1)[0]
			checkStatus(t, e, out)
			if aws.ToString(e.Detail.Error) != errType {
				t.Errorf("status event %s", e.Raw)
			}
		})
	}
}

// The definition's TimeoutSeconds backstop (76 h, scaled down here) ends a run
// whose steps never give up: TIMED_OUT, and a TIMED_OUT status event (the
// definition runs no state after an execution timeout).
func TestTopLevelTimeout(t *testing.T) {
	t.Parallel()
	steps := happySteps(1_000_000, 1)
	// 273600 s * scale = about 1.5 s
	h := newHarness(t, steps, Config{TimeoutScale: 1.5 / 273600}, nil)
	arn, out := h.run(t, "run-timeout")

	if out.Status != types.ExecutionStatusTimedOut {
		t.Fatalf("status %s, want TIMED_OUT", out.Status)
	}
	history := h.History(t, arn)
	last := history[len(history)-1]
	if last.Type != types.HistoryEventTypeExecutionTimedOut || aws.ToString(last.ExecutionTimedOutEventDetails.Error) != "States.Timeout" {
		t.Errorf("last event %s %+v", last.Type, last.ExecutionTimedOutEventDetails)
	}
	if prev := history[len(history)-2].Type; prev != types.HistoryEventTypeWaitStateAborted && prev != types.HistoryEventTypeTaskStateAborted {
		t.Errorf("event before ExecutionTimedOut is %s, want the running state aborted", prev)
	}
	if out.RedriveStatus != types.ExecutionRedriveStatusRedrivable {
		t.Errorf("redriveStatus %s", out.RedriveStatus)
	}
	e := h.statusEvents(t, arn, 1)[0]
	checkStatus(t, e, out)
	if e.Detail.Status != "TIMED_OUT" || aws.ToString(e.Detail.Error) != "States.Timeout" {
		t.Errorf("status event %s", e.Raw)
	}
}

// Status events are delivered in the background: retried when the receiver
// answers 5xx, and an endpoint that does not answer never holds up executions.
func TestStatusEventDelivery(t *testing.T) {
	t.Parallel()
	t.Run("retried after 503", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, happySteps(1, 1), Config{}, nil)
		h.status.Refuse.Store(2)
		arn, out := h.run(t, "run-retried")
		if out.Status != types.ExecutionStatusSucceeded {
			t.Fatalf("status %s", out.Status)
		}
		checkStatus(t, h.statusEvents(t, arn, 1)[0], out)
		if n := h.status.Posts(); n != 3 {
			t.Errorf("%d POSTs, want 3 (two refused)", n)
		}
	})
	t.Run("receiver that never answers", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		var posts atomic.Int64
		stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			posts.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(stuck.Close)
		t.Cleanup(func() { close(release) }) // runs before stuck.Close
		h := newHarness(t, happySteps(1, 1), Config{StatusEventsEndpoint: stuck.URL}, nil)
		began := time.Now()
		for _, name := range []string{"run-stuck-1", "run-stuck-2"} {
			if _, out := h.run(t, name); out.Status != types.ExecutionStatusSucceeded {
				t.Fatalf("%s: status %s", name, out.Status)
			}
		}
		if d := time.Since(began); d > 5*time.Second {
			t.Errorf("two runs took %v with a stuck status endpoint", d)
		}
		testenv.Eventually(5*time.Second, func() bool { return posts.Load() >= 2 })
		if n := posts.Load(); n != 2 {
			t.Errorf("%d POSTs to the stuck endpoint, want one per execution so far", n)
		}
	})
}

func TestStartExecutionIsIdempotentByNameAndInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, happySteps(1_000_000, 1), Config{}, nil) // runs until stopped
	ctx := context.Background()
	input := runInput("run-idem")
	arn := h.start(t, "run-idem", input)

	again, err := h.Client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(h.machine), Name: aws.String("run-idem"), Input: aws.String(input)})
	if err != nil || aws.ToString(again.ExecutionArn) != arn {
		t.Fatalf("second StartExecution with the same name and input: %v, %v; want the same ARN %s", again, err, arn)
	}
	_, err = h.Client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(h.machine), Name: aws.String("run-idem"), Input: aws.String(runInput("other"))})
	if !IsError[*types.ExecutionAlreadyExists](err) {
		t.Fatalf("same name, different input: %v, want ExecutionAlreadyExists", err)
	}

	// ListExecutions: newest first, filtered by status, in pages.
	other1, other2 := h.start(t, "run-b", runInput("run-b")), h.start(t, "run-c", runInput("run-c"))
	var listed []string
	p := sfn.NewListExecutionsPaginator(h.Client, &sfn.ListExecutionsInput{StateMachineArn: aws.String(h.machine), StatusFilter: types.ExecutionStatusRunning, MaxResults: 2})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Executions {
			listed = append(listed, aws.ToString(e.ExecutionArn))
		}
	}
	if want := []string{other2, other1, arn}; !slices.Equal(listed, want) {
		t.Errorf("ListExecutions RUNNING = %v, want %v", listed, want)
	}

	// StopExecution: ABORTED with the given error; the name stays taken.
	for _, a := range []string{arn, other1, other2} {
		if _, err := h.Client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(a), Error: aws.String("Cancelled"), Cause: aws.String("stopped by the test")}); err != nil {
			t.Fatal(err)
		}
	}
	out := h.WaitForEnd(t, arn, time.Second)
	if out.Status != types.ExecutionStatusAborted || aws.ToString(out.Error) != "Cancelled" {
		t.Errorf("after StopExecution: %s %s", out.Status, aws.ToString(out.Error))
	}
	history := h.History(t, arn)
	if last := history[len(history)-1]; last.Type != types.HistoryEventTypeExecutionAborted || aws.ToString(last.ExecutionAbortedEventDetails.Cause) != "stopped by the test" {
		t.Errorf("last event %s", last.Type)
	}
	e := h.statusEvents(t, arn, 1)[0]
	checkStatus(t, e, out)
	if e.Detail.Status != "ABORTED" || aws.ToString(e.Detail.Error) != "Cancelled" || aws.ToString(e.Detail.Cause) != "stopped by the test" {
		t.Errorf("status event %s", e.Raw)
	}
	_, err = h.Client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(h.machine), Name: aws.String("run-idem"), Input: aws.String(input)})
	if !IsError[*types.ExecutionAlreadyExists](err) {
		t.Errorf("same name and input after the execution ended: %v, want ExecutionAlreadyExists", err)
	}
}

// RedriveExecution resumes in the state the execution failed in, with that
// state's input. Faults that are not caught fail the Task, so a redrive after the
// fault is fixed runs that Task and what follows, and nothing before it; each
// end of the execution sends its status event.
func TestRedriveResumesAtTheFailedTask(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		step, state          string
		err                  error
		failures             int // calls that fail (retries included)
		before, afterRedrive map[string]int
	}{
		"PermanentError in DropUsers": {
			step: "dropUsers", state: "DropUsers", err: &PermanentError{"Salesforce answered 403: the integration user lost Manage Users"}, failures: 1,
			before:       map[string]int{"prepareRefresh": 1, "startRefresh": 1, "checkRefresh": 2, "dropUsers": 1},
			afterRedrive: map[string]int{"dropUsers": 1, "maskingBaseline": 1, "startMasking": 1, "checkMasking": 1, "recreateUsers": 1},
		},
		"TransientError past its retries in StartMasking": {
			step: "startMasking", state: "StartMasking", err: &TransientError{"DCS answered 503"}, failures: 7, // 1 + MaxAttempts 6
			before: map[string]int{"prepareRefresh": 1, "startRefresh": 1, "checkRefresh": 2, "dropUsers": 1, "maskingBaseline": 1, "startMasking": 7},
			// The redrive starts against the baseline taken before the
			// failed attempts, which may have started an execution: it is
			// not taken again.
			afterRedrive: map[string]int{"startMasking": 1, "checkMasking": 1, "recreateUsers": 1},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			steps := happySteps(2, 1)
			happy := steps[c.step]
			var fixed atomic.Bool
			steps[c.step] = func(run map[string]any) (any, error) {
				if fixed.Load() {
					return happy(run)
				}
				return nil, c.err
			}
			h := newHarness(t, steps, Config{}, nil)
			arn, out := h.run(t, "run-redrive")
			errType := errorType(c.err)
			if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != errType || out.RedriveStatus != types.ExecutionRedriveStatusRedrivable {
				t.Fatalf("status %s error %s redriveStatus %s, want FAILED %s REDRIVABLE", out.Status, aws.ToString(out.Error), out.RedriveStatus, errType)
			}
			if got := failedIn(t, h.History(t, arn)); got != c.state {
				t.Errorf("failed in %s, want %s", got, c.state)
			}
			counts := func() map[string]int {
				m := map[string]int{}
				for _, s := range h.steps.callOrder() {
					m[s]++
				}
				return m
			}
			if got := counts(); !maps.Equal(got, c.before) {
				t.Errorf("steps called %v, want %v", got, c.before)
			}
			failed := h.statusEvents(t, arn, 1)[0]
			checkStatus(t, failed, out)
			if failed.Detail.Status != "FAILED" || failed.Detail.RedriveCount != 0 || failed.Detail.RedriveStatus != "REDRIVABLE" || failed.Detail.RedriveStatusReason != nil {
				t.Errorf("status event of the failure %s", failed.Raw)
			}

			fixed.Store(true) // the fault is fixed
			if _, err := h.Client.RedriveExecution(context.Background(), &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
				t.Fatal(err)
			}
			out = h.WaitForEnd(t, arn, 20*time.Second)
			if out.Status != types.ExecutionStatusSucceeded || aws.ToInt32(out.RedriveCount) != 1 || out.RedriveDate == nil {
				t.Fatalf("after redrive: %s (%s) redriveCount %d", out.Status, aws.ToString(out.Error), aws.ToInt32(out.RedriveCount))
			}
			want := maps.Clone(c.before)
			for s, n := range c.afterRedrive {
				want[s] += n
			}
			if got := counts(); !maps.Equal(got, want) {
				t.Errorf("after the redrive, steps called %v, want %v (finished steps not repeated)", got, want)
			}
			if r := h.steps.lastRun(c.step); r["refresh"].(map[string]any)["done"] != true {
				t.Errorf("redriven %s got run %v, want the input it failed with", c.step, r)
			}
			history := h.History(t, arn)
			i := slices.IndexFunc(history, func(e types.HistoryEvent) bool { return e.Type == types.HistoryEventTypeExecutionRedriven })
			if i < 0 || history[i-1].Type != types.HistoryEventTypeExecutionFailed || aws.ToInt32(history[i].ExecutionRedrivenEventDetails.RedriveCount) != 1 ||
				aws.ToString(history[i+1].StateEnteredEventDetails.Name) != c.state {
				t.Errorf("history around ExecutionRedriven is wrong (index %d)", i)
			}
			if last := history[len(history)-1]; last.Type != types.HistoryEventTypeExecutionSucceeded {
				t.Errorf("last event %s", last.Type)
			}

			// Status events: the failure, then the success of the redrive.
			events := h.statusEvents(t, arn, 2)
			if events[0].ID != failed.ID {
				t.Errorf("first status event changed: %s", events[0].Raw)
			}
			succeeded := events[1]
			checkStatus(t, succeeded, out)
			if succeeded.Detail.Status != "SUCCEEDED" || succeeded.Detail.RedriveCount != 1 || succeeded.Detail.RedriveDate == nil ||
				*succeeded.Detail.RedriveDate != out.RedriveDate.UnixMilli() || succeeded.Detail.StartDate != failed.Detail.StartDate {
				t.Errorf("status event of the redrive %s", succeeded.Raw)
			}
		})
	}
}

// A caught failure (RunTimedOut: a new run is needed) fails in the Fail state,
// so a redrive resumes there and fails again at once without running any step.
func TestRedriveOfACaughtFailureFailsAgainAtOnce(t *testing.T) {
	t.Parallel()
	steps := happySteps(1, 1)
	steps["checkRefresh"] = func(map[string]any) (any, error) { return nil, &RunTimedOut{"the run passed its deadline"} }
	h := newHarness(t, steps, Config{}, nil)
	arn, out := h.run(t, "run-caught")
	if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "RunTimedOut" || out.RedriveStatus != types.ExecutionRedriveStatusRedrivable {
		t.Fatalf("status %s %s %s", out.Status, aws.ToString(out.Error), out.RedriveStatus)
	}
	if got := failedIn(t, h.History(t, arn)); got != "Failed" {
		t.Errorf("failed in %s, want Failed", got)
	}
	first := out
	if _, err := h.Client.RedriveExecution(context.Background(), &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	out = h.WaitForEnd(t, arn, 20*time.Second)
	if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "RunTimedOut" || aws.ToString(out.Cause) != aws.ToString(first.Cause) || aws.ToInt32(out.RedriveCount) != 1 {
		t.Errorf("after redrive: %s %s redriveCount %d, want FAILED RunTimedOut again", out.Status, aws.ToString(out.Error), aws.ToInt32(out.RedriveCount))
	}
	if calls := h.steps.callOrder(); !slices.Equal(calls, []string{"prepareRefresh", "startRefresh", "checkRefresh"}) {
		t.Errorf("steps called %v: the redrive ran steps", calls)
	}
	history := h.History(t, arn)
	i := slices.IndexFunc(history, func(e types.HistoryEvent) bool { return e.Type == types.HistoryEventTypeExecutionRedriven })
	if i < 0 || len(history) != i+3 || history[i+1].Type != types.HistoryEventTypeFailStateEntered ||
		aws.ToString(history[i+1].StateEnteredEventDetails.Name) != "Failed" {
		t.Errorf("after ExecutionRedriven: %v", entered(history[i+1:]))
	}
	events := h.statusEvents(t, arn, 2)
	checkStatus(t, events[1], out)
	for i, e := range events {
		if e.Detail.Status != "FAILED" || aws.ToString(e.Detail.Error) != "RunTimedOut" || e.Detail.RedriveCount != i {
			t.Errorf("status event %d: %s", i, e.Raw)
		}
	}
}
