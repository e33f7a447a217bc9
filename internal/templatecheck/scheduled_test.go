package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dcs-access/dcs-access/internal/notices"
)

// scheduleEventType is the SAM event that runs a function on an EventBridge
// Scheduler schedule (AWS::Scheduler::Schedule), the only kind of schedule
// the template may have.
const scheduleEventType = "ScheduleV2"

// scheduledRun is how a function runs on a schedule.
type scheduledRun struct {
	Expression string        // its ScheduleExpression
	Role       string        // the role of roleAllowlist the schedule invokes it as
	MaxTimeout time.Duration // its Timeout must be below this (0: no bound)
}

// scheduledTable is every function that runs on a schedule. Such a function
// has no dead-letter queue: each run does all the work that is due, so a
// tick that fails is made good by the next one. It has an alarm on its
// Errors instead, since nothing else would see runs that keep failing.
var scheduledTable = map[string]scheduledRun{
	// The expiry notices due, every 15 minutes. A run's claims last
	// notices.ClaimLease: the run must end first, so that a claim only
	// expires once its run is over and cannot be taken while it still sends.
	"ExpiryNoticesFunction": {Expression: "rate(15 minutes)", Role: "ExpiryNoticesSchedulerRole", MaxTimeout: notices.ClaimLease},
}

// checkScheduledFunctions checks every schedule of the template: each is a
// function's ScheduleV2 event of the table (its expression, on time, never
// disabled), runs as its table role, which only EventBridge Scheduler may
// assume and which may invoke that function and nothing else, ends before
// MaxTimeout, and has an alarm on its errors; and no schedule stands apart
// from the functions' events.
func checkScheduledFunctions(tpl *cfnTemplate, table map[string]scheduledRun, roles map[string]serviceRole) []string {
	var problems []string
	alarmed := alarmedMetrics(tpl)
	seen := map[string]bool{}
	for _, fn := range tpl.functions() {
		for _, e := range entries(fn.prop("Events")) {
			if typ, _ := plainScalar(at(e.Value, "Type")); typ != scheduleEventType {
				continue
			}
			where := fn.ID + " event " + e.Key
			want, ok := table[fn.ID]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s runs %s on a schedule, which is not in scheduledTable", where, fn.ID))
				continue
			}
			if seen[fn.ID] {
				problems = append(problems, fmt.Sprintf("%s is a second schedule of %s", where, fn.ID))
			}
			seen[fn.ID] = true
			props := at(e.Value, "Properties")
			if got := render(at(props, "ScheduleExpression")); got != want.Expression {
				problems = append(problems, fmt.Sprintf("%s: ScheduleExpression is %s, want %s", where, got, want.Expression))
			}
			if got := render(at(props, "FlexibleTimeWindow.Mode")); got != "OFF" {
				problems = append(problems, fmt.Sprintf("%s: FlexibleTimeWindow.Mode is %s, want OFF: a flexible window makes each run late by up to its width", where, got))
			}
			if n := at(props, "State"); n != nil && render(n) != "ENABLED" {
				problems = append(problems, fmt.Sprintf("%s: State is %s: a disabled schedule runs nothing", where, render(n)))
			}
			problems = append(problems, checkScheduleRole(where, fn.ID, at(props, "RoleArn"), want.Role, roles)...)
			if want.MaxTimeout > 0 {
				seconds, err := functionTimeout(tpl, fn.ID)
				if timeout := time.Duration(seconds) * time.Second; err != nil {
					problems = append(problems, fmt.Sprintf("%s: %v", fn.ID, err))
				} else if timeout >= want.MaxTimeout {
					problems = append(problems, fmt.Sprintf("%s: Timeout is %v, want below %v (notices.ClaimLease): a run could outlive its claims", fn.ID, timeout, want.MaxTimeout))
				}
			}
			if m := alarmedMetric("AWS/Lambda", "Errors", "FunctionName", "!Ref "+fn.ID); !alarmed[m] {
				problems = append(problems, fmt.Sprintf("%s: no alarm on its errors (%s): nothing retries a scheduled run, so no one would see runs that keep failing", fn.ID, m))
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(table)) {
		if !seen[id] {
			problems = append(problems, fmt.Sprintf("%s is in scheduledTable but has no %s event", id, scheduleEventType))
		}
	}
	for _, r := range tpl.ofType("AWS::Scheduler::Schedule") {
		problems = append(problems, fmt.Sprintf("%s is a schedule outside the functions' events, which this check cannot tie to scheduledTable", r.ID))
	}
	return problems
}

// checkScheduleRole checks that a schedule of fnID runs as role, which only
// EventBridge Scheduler may assume and which may invoke fnID and nothing
// else (checkServiceRole holds the template's role to roles).
func checkScheduleRole(where, fnID string, roleARN *yaml.Node, role string, roles map[string]serviceRole) []string {
	if id, attr, ok := getAtt(roleARN); !ok || attr != "Arn" || id != role {
		return []string{fmt.Sprintf("%s: RoleArn is %s, want !GetAtt %s.Arn (without a RoleArn SAM makes a role no allowlist reads)", where, render(roleARN), role)}
	}
	r, ok := roles[role]
	if !ok || r.Trust.Service != schedulerService {
		return []string{fmt.Sprintf("%s: %s is not a role of roleAllowlist that only %s may assume", where, role, schedulerService)}
	}
	invoke := []grant{{"lambda:InvokeFunction", "!GetAtt " + fnID + ".Arn", ""}}
	if !slices.Equal(r.Grants, invoke) || len(r.ManagedPolicies) > 0 {
		return []string{fmt.Sprintf("%s: %s's allowlist grants %v, want only %v", where, role, r.Grants, invoke)}
	}
	return nil
}

func TestScheduledFunctions(t *testing.T) {
	tpl := loadTemplate(t)
	t.Run("every schedule is a function's of scheduledTable, on time, as a role that may invoke that function only, within its timeout bound and alarmed", func(t *testing.T) {
		report(t, checkScheduledFunctions(tpl, scheduledTable, roleAllowlist))
	})
}

func TestScheduledFunctionChecksCatchMutations(t *testing.T) {
	scheduled := func(tpl *cfnTemplate) []string { return checkScheduledFunctions(tpl, scheduledTable, roleAllowlist) }
	const (
		role     = "ExpiryNoticesSchedulerRole"
		fn       = "Resources.ExpiryNoticesFunction.Properties"
		schedule = fn + ".Events.Every15Minutes.Properties"
		invoke   = "Resources." + role + ".Properties.Policies.0.PolicyDocument.Statement.0"
	)
	schedulerRole := func(tpl *cfnTemplate) []string { return checkServiceRole(tpl, role, roleAllowlist[role]) }
	rules := func(tpl *cfnTemplate) []string { return checkEventRules(tpl, ruleTable, permissionTable) }
	runMutations(t, []mutation{
		{"another expression is caught",
			setTo(schedule+".ScheduleExpression", "rate(1 day)"), scheduled, "ScheduleExpression is rate(1 day), want rate(15 minutes)"},
		{"a flexible time window is caught",
			setTo(schedule+".FlexibleTimeWindow", "{Mode: FLEXIBLE, MaximumWindowInMinutes: 60}"), scheduled, "FlexibleTimeWindow.Mode is FLEXIBLE, want OFF"},
		{"a disabled schedule is caught",
			setTo(schedule+".State", "DISABLED"), scheduled, "State is DISABLED"},
		{"a schedule without its role (SAM would make one) is caught",
			removeAt(schedule + ".RoleArn"), scheduled, "RoleArn is <unset>, want !GetAtt ExpiryNoticesSchedulerRole.Arn"},
		{"a schedule running as the plans' scheduler role is caught",
			setTo(schedule+".RoleArn", "!GetAtt SandboxRefreshSchedulerRole.Arn"), scheduled, "RoleArn is !GetAtt SandboxRefreshSchedulerRole.Arn"},
		{"a scheduler role that may invoke every function is caught",
			setTo(invoke+".Resource", `"*"`), schedulerRole, "ExpiryNoticesSchedulerRole is granted lambda:InvokeFunction on *"},
		{"a scheduler role that may invoke another function too is caught",
			setTo(invoke+".Resource", "[!GetAtt ExpiryNoticesFunction.Arn, !GetAtt PipelineStepsFunction.Arn]"), schedulerRole,
			"ExpiryNoticesSchedulerRole is granted lambda:InvokeFunction on !GetAtt PipelineStepsFunction.Arn"},
		{"a scheduler role any service may assume is caught",
			setTo("Resources."+role+".Properties.AssumeRolePolicyDocument.Statement.0.Principal", "{Service: events.amazonaws.com}"), schedulerRole,
			"ExpiryNoticesSchedulerRole may be assumed by"},
		{"a timeout as long as the claims is caught",
			setTo(fn+".Timeout", "600"), scheduled, "Timeout is 10m0s, want below 10m0s (notices.ClaimLease)"},
		{"the Globals' timeout is read when the function has none",
			func(t *testing.T, tpl *cfnTemplate) {
				remove(t, tpl, fn+".Timeout")
				set(t, tpl, "Globals.Function.Timeout", "900")
			}, scheduled, "Timeout is 15m0s"},
		{"a scheduled function without its errors alarm is caught",
			removeAt("Resources.ExpiryNoticesFailuresAlarm"), scheduled, "ExpiryNoticesFunction: no alarm on its errors"},
		{"an errors alarm on another function does not count",
			setTo("Resources.ExpiryNoticesFailuresAlarm.Properties.Dimensions.0.Value", "!Ref WhoAmIFunction"), scheduled, "ExpiryNoticesFunction: no alarm on its errors"},
		{"the schedule removed is caught",
			removeAt(fn + ".Events.Every15Minutes"), scheduled, "ExpiryNoticesFunction is in scheduledTable but has no ScheduleV2 event"},
		{"a schedule of a function outside the table is caught",
			setTo("Resources.WhoAmIFunction.Properties.Events.Hourly", "{Type: ScheduleV2, Properties: {ScheduleExpression: rate(1 hour), FlexibleTimeWindow: {Mode: 'OFF'}}}"),
			scheduled, "WhoAmIFunction event Hourly runs WhoAmIFunction on a schedule, which is not in scheduledTable"},
		{"a second schedule is caught",
			setTo(fn+".Events.Hourly", "{Type: ScheduleV2, Properties: {ScheduleExpression: rate(15 minutes), FlexibleTimeWindow: {Mode: 'OFF'}, RoleArn: !GetAtt ExpiryNoticesSchedulerRole.Arn}}"),
			scheduled, "is a second schedule of ExpiryNoticesFunction"},
		{"a schedule outside the functions' events is caught",
			setTo("Resources.RawSchedule", "{Type: AWS::Scheduler::Schedule, Properties: {ScheduleExpression: rate(1 minute), FlexibleTimeWindow: {Mode: 'OFF'}, Target: {Arn: !GetAtt PipelineStepsFunction.Arn, RoleArn: !GetAtt ExpiryNoticesSchedulerRole.Arn}}}"),
			scheduled, "RawSchedule is a schedule outside the functions' events"},
		{"an EventBridge scheduled rule (SAM's Schedule) is caught as an event no check reads",
			setTo(fn+".Events.Rule", "{Type: Schedule, Properties: {Schedule: rate(15 minutes)}}"), rules, "ExpiryNoticesFunction event Rule is a Schedule event, which no check reads"},
	})
}
