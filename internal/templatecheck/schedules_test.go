package templatecheck

import (
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/schedules"
)

// schedulesFunction is the function that keeps the plans' schedules
// (internal/schedules, wired by app.Plans).
const schedulesFunction = "SandboxPlansFunction"

// scheduleActions are the Scheduler actions internal/schedules calls.
var scheduleActions = []string{"scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"}

// checkSchedules checks what the plans' schedules rely on in AWS, where no
// local test reaches, given fnID's allowlist and the service roles' ones:
//   - fnID's SCHEDULE_GROUP is !Ref of an AWS::Scheduler::ScheduleGroup of
//     the template, and fnID may create, update and delete its schedules;
//   - SCHEDULER_ROLE_ARN is !GetAtt <role>.Arn of a role of roles that only
//     EventBridge Scheduler may assume, and fnID may pass it, to Scheduler
//     only;
//   - EVENT_BUS_ARN is !GetAtt <bus>.Arn of the bus that the rule for
//     "Sandbox Refresh Requested" listens on, and the role may put events
//     on it;
//   - that rule matches the events the schedules put (source
//     schedules.Source, detail-type api.DetailRequested).
func checkSchedules(tpl *cfnTemplate, fnID string, allowed []grant, roles map[string]serviceRole) []string {
	fn, ok := tpl.resource(fnID)
	if !ok {
		return []string{fmt.Sprintf("no resource %s", fnID)}
	}
	var problems []string
	allows := func(g grant, why string) {
		if !slices.Contains(allowed, g) {
			problems = append(problems, fmt.Sprintf("%s's allowlist lacks %s: %s", fnID, g, why))
		}
	}

	group, ok := ref(envValue(tpl, fn, "SCHEDULE_GROUP"))
	if !ok || !isType(tpl, group, "AWS::Scheduler::ScheduleGroup") {
		problems = append(problems, fmt.Sprintf("%s: SCHEDULE_GROUP is %s, want !Ref of an AWS::Scheduler::ScheduleGroup of the template", fnID, render(envValue(tpl, fn, "SCHEDULE_GROUP"))))
	} else {
		for _, a := range scheduleActions {
			allows(grant{a, "!Sub arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${" + group + "}/*", ""},
				"it keeps the schedules of SCHEDULE_GROUP, and only those")
		}
	}

	role, attr, ok := getAtt(envValue(tpl, fn, "SCHEDULER_ROLE_ARN"))
	if !ok || attr != "Arn" || roles[role].Trust.Service != schedulerService {
		problems = append(problems, fmt.Sprintf("%s: SCHEDULER_ROLE_ARN is %s, want !GetAtt <role>.Arn of a role of roleAllowlist that only %s may assume", fnID, render(envValue(tpl, fn, "SCHEDULER_ROLE_ARN")), schedulerService))
		role = ""
	} else {
		allows(grant{"iam:PassRole", "!GetAtt " + role + ".Arn", passToScheduler}, "creating or updating a schedule passes SCHEDULER_ROLE_ARN, to Scheduler only")
	}

	bus, attr, ok := getAtt(envValue(tpl, fn, "EVENT_BUS_ARN"))
	if !ok || attr != "Arn" || !isType(tpl, bus, "AWS::Events::EventBus") {
		problems = append(problems, fmt.Sprintf("%s: EVENT_BUS_ARN is %s, want !GetAtt <AWS::Events::EventBus of the template>.Arn", fnID, render(envValue(tpl, fn, "EVENT_BUS_ARN"))))
		return problems
	}
	if role != "" {
		put := grant{"events:PutEvents", "!GetAtt " + bus + ".Arn", ""}
		if !slices.Contains(roles[role].Grants, put) {
			problems = append(problems, fmt.Sprintf("%s's allowlist lacks %s: the schedules put their events on EVENT_BUS_ARN as SCHEDULER_ROLE_ARN", role, put))
		}
	}

	rule, pattern, pr := requestRule(tpl)
	if len(pr) > 0 {
		return append(problems, pr...)
	}
	if got := render(at(rule, "Properties.EventBusName")); got != "!Ref "+bus {
		problems = append(problems, fmt.Sprintf("the schedules put their events on %s (EVENT_BUS_ARN), but the rule for %q listens on %s", bus, api.DetailRequested, got))
	}
	event := map[string]string{"source": schedules.Source, "detail-type": api.DetailRequested}
	if match, why := patternMatches(pattern, event); !match {
		problems = append(problems, fmt.Sprintf("the rule for %q does not match the schedules' events (source %s): %s", api.DetailRequested, schedules.Source, why))
	}
	return problems
}

// requestRule returns the function event whose rule matches "Sandbox
// Refresh Requested", and its pattern.
func requestRule(tpl *cfnTemplate) (*yaml.Node, *yaml.Node, []string) {
	for _, fn := range tpl.functions() {
		for _, e := range entries(fn.prop("Events")) {
			if typ, _ := plainScalar(at(e.Value, "Type")); !ruleEventTypes[typ] {
				continue
			}
			pattern := at(e.Value, "Properties.Pattern")
			for _, dt := range items(at(pattern, "detail-type")) {
				if s, _ := plainScalar(dt); s == api.DetailRequested {
					return e.Value, pattern, nil
				}
			}
		}
	}
	return nil, nil, []string{fmt.Sprintf("no function event has a rule for %q: the schedules' events would start nothing", api.DetailRequested)}
}

// patternMatches reports whether an event pattern matches an event with
// the given top-level fields, and if not why (what does not match, or what
// this check cannot evaluate).
func patternMatches(pattern *yaml.Node, event map[string]string) (bool, string) {
	es := entries(pattern)
	if es == nil {
		return false, fmt.Sprintf("the pattern is %s, which this check cannot read", render(pattern))
	}
	for _, e := range es {
		value, ok := event[e.Key]
		if !ok {
			return false, fmt.Sprintf("the pattern filters on %s, which this check cannot evaluate for these events", e.Key)
		}
		found := false
		for _, v := range items(e.Value) {
			s, ok := plainScalar(v)
			if !ok {
				return false, fmt.Sprintf("the pattern's %s is %s, which this check cannot evaluate (plain values only)", e.Key, render(e.Value))
			}
			found = found || s == value
		}
		if !found {
			return false, fmt.Sprintf("its %s is %s, without %s", e.Key, render(e.Value), value)
		}
	}
	return true, ""
}
