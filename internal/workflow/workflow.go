// Package workflow is the sandbox-refresh state machine
// (statemachine/sandbox-refresh.asl.json) as the Go code relies on it: the
// steps its Task states run, with their time budgets, and the four steps a
// person follows a run by. It is the one owner of those names: the pipeline
// dispatches on them, the Step Functions adapter groups a run's history by
// them, and a test checks the definition against them.
//
// It imports nothing, so that the pipeline (which imports runs) and the Step
// Functions adapter can both read it: neither imports the other, and the API
// functions that link the adapter do not link the pipeline's clients.
package workflow

import "time"

// Phase is one of the four steps of a refresh as a person follows it: the
// "steps" of a run in the API and the console. Its states are the Tasks of
// its steps and the states between its polls.
type Phase struct {
	Name string // as the API shows it, e.g. "refreshSandbox"
	// Result is the field of the run's state where its Tasks put their
	// result (their ResultPath): the phase's detail.
	Result string
	// Between are its states that are not Tasks: the Wait and the Choice
	// of a poll.
	Between []string
}

var (
	refreshPhase  = &Phase{Name: "refreshSandbox", Result: "refresh", Between: []string{"WaitForRefresh", "IsRefreshDone"}}
	dropPhase     = &Phase{Name: "dropUsers", Result: "dropUsers"}
	maskingPhase  = &Phase{Name: "masking", Result: "masking", Between: []string{"WaitForMasking", "IsMaskingDone"}}
	recreatePhase = &Phase{Name: "recreateUsers", Result: "recreateUsers"}
)

// Phases are the four, in the order a run goes through them.
var Phases = []*Phase{refreshPhase, dropPhase, maskingPhase, recreatePhase}

// The steps' names: the step member of their Tasks' Parameters, which the
// pipeline-steps function dispatches on.
const (
	PrepareRefresh  = "prepareRefresh"
	StartRefresh    = "startRefresh"
	CheckRefresh    = "checkRefresh"
	DropUsers       = "dropUsers"
	MaskingBaseline = "maskingBaseline"
	StartMasking    = "startMasking"
	CheckMasking    = "checkMasking"
	RecreateUsers   = "recreateUsers"
)

// Step is one Task state of the definition and the pipeline step it runs.
type Step struct {
	Name  string // the Task's Parameters.step
	State string // the Task state's name
	// Budget is how long the step may take. It ends at least BudgetMargin
	// before the Task's TimeoutSeconds, so that a slow Salesforce or DCS
	// surfaces as the step's TransientError, which is retried, and never as
	// States.Timeout, which is not (and would leave the call running).
	Budget time.Duration
	Phase  *Phase
	// RetryAfter is the least wait before Step Functions retries the step
	// after a TransientError (its retrier's IntervalSeconds, without
	// jitter, which may wait less); zero when any retrier will do.
	RetryAfter time.Duration
}

// BudgetMargin is the least time between a step's budget and its Task's
// TimeoutSeconds: room for the Lambda to answer once the budget is spent.
const BudgetMargin = 10 * time.Second

const (
	pollBudget  = 50 * time.Second  // a Task with TimeoutSeconds 60: a few API calls
	usersBudget = 280 * time.Second // DropUsers and RecreateUsers (TimeoutSeconds 300): users in batches of 200
	// startRetryAfter: StartMasking's retrier waits at least this long.
	startRetryAfter = 10 * time.Second
)

// Steps are every Task of the definition, in the order a run reaches them.
var Steps = []Step{
	{Name: PrepareRefresh, State: "PrepareRefresh", Budget: pollBudget, Phase: refreshPhase},
	{Name: StartRefresh, State: "StartRefresh", Budget: pollBudget, Phase: refreshPhase},
	{Name: CheckRefresh, State: "CheckRefresh", Budget: pollBudget, Phase: refreshPhase},
	{Name: DropUsers, State: "DropUsers", Budget: usersBudget, Phase: dropPhase},
	// MaskingBaseline notes the DCS job's executions before StartMasking
	// may start one: StartMasking takes only an execution that is not
	// among them.
	{Name: MaskingBaseline, State: "MaskingBaseline", Budget: pollBudget, Phase: maskingPhase},
	// A start whose answer was lost may be committed by DCS seconds later:
	// the retry waits for it before it lists the job's executions again.
	{Name: StartMasking, State: "StartMasking", Budget: pollBudget, Phase: maskingPhase, RetryAfter: startRetryAfter},
	// CheckMasking makes the start that replaces a failed execution after a
	// redrive, so its retrier waits as StartMasking's does.
	{Name: CheckMasking, State: "CheckMasking", Budget: pollBudget, Phase: maskingPhase, RetryAfter: startRetryAfter},
	{Name: RecreateUsers, State: "RecreateUsers", Budget: usersBudget, Phase: recreatePhase},
}

// RecordFailure is the Pass state every Catch leads to (through a …Caught
// state): the run failed in the phase it was in, with the caught error at
// $.error of the state's input.
const RecordFailure = "RecordFailure"

// StepNamed returns the step called name.
func StepNamed(name string) (Step, bool) {
	for _, s := range Steps {
		if s.Name == name {
			return s, true
		}
	}
	return Step{}, false
}

// PhaseOf returns the phase a state of the definition belongs to; nil for
// the states of no phase (the failure path, Succeeded).
func PhaseOf(state string) *Phase {
	for _, s := range Steps {
		if s.State == state {
			return s.Phase
		}
	}
	for _, p := range Phases {
		for _, name := range p.Between {
			if name == state {
				return p
			}
		}
	}
	return nil
}
