package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// eventRule is an EventBridge rule that invokes a function.
type eventRule struct {
	Function string // the target
	Bus      string // "default", or "!Ref <AWS::Events::EventBus of the template>"
	Pattern  string // the event pattern, as patternString writes it
}

// patternString writes an event pattern canonically: mappings with their
// keys sorted, lists with their values sorted (the order of a pattern's
// values means nothing), values as render writes them.
func patternString(n *yaml.Node) string {
	n = deref(n)
	if _, _, ok := intrinsic(n); ok || n == nil {
		return render(n)
	}
	if es := entries(n); es != nil {
		slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.Key, b.Key) })
		parts := make([]string, 0, len(es))
		for _, e := range es {
			parts = append(parts, e.Key+": "+patternString(e.Value))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	if n.Kind == yaml.SequenceNode {
		parts := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			parts = append(parts, patternString(c))
		}
		slices.Sort(parts)
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return render(n)
}

// invokePermission is an AWS::Lambda::Permission: a service that may invoke
// a function outside the SAM events, and the condition it must meet.
type invokePermission struct {
	Function      string // the function's logical id
	Principal     string // the service
	SourceAccount string // as render writes it: the confused-deputy guard
}

// permissionTable is every AWS::Lambda::Permission of the template, by
// logical id. A new one is added here deliberately.
var permissionTable = map[string]invokePermission{
	// Secrets Manager invokes the rotation function of the pipelines' token
	// secrets, for this account's secrets only.
	"DcsTokenRotationPermission": {Function: "DcsTokenRotationFunction", Principal: "secretsmanager.amazonaws.com", SourceAccount: "!Ref AWS::AccountId"},
}

// checkPermission checks that a Lambda permission is exactly its entry of
// permissions: lambda:InvokeFunction on that function, by that service,
// from this account, and nothing more.
func checkPermission(tpl *cfnTemplate, r resource, permissions map[string]invokePermission) []string {
	want, ok := permissions[r.ID]
	if !ok {
		return []string{fmt.Sprintf("%s (%s) lets something invoke a function beyond the SAM events' own permissions, and it is not in the permission table", r.ID, r.Type)}
	}
	var problems []string
	fn, attr, isGetAtt := getAtt(r.prop("FunctionName"))
	if id, isRef := ref(r.prop("FunctionName")); isRef {
		fn, attr, isGetAtt = id, "Arn", true
	}
	if !isGetAtt || attr != "Arn" || fn != want.Function || !isFunction(tpl, fn) {
		problems = append(problems, fmt.Sprintf("%s: FunctionName is %s, want !GetAtt %s.Arn", r.ID, render(r.prop("FunctionName")), want.Function))
	}
	for prop, value := range map[string]string{"Action": "lambda:InvokeFunction", "Principal": want.Principal, "SourceAccount": want.SourceAccount} {
		if got := render(r.prop(prop)); got != value {
			problems = append(problems, fmt.Sprintf("%s: %s is %s, want %s", r.ID, prop, got, value))
		}
	}
	for _, e := range entries(at(r.Node, "Properties")) {
		switch e.Key {
		case "FunctionName", "Action", "Principal", "SourceAccount":
		default:
			problems = append(problems, fmt.Sprintf("%s sets %s, which the permission table does not say", r.ID, e.Key))
		}
	}
	return problems
}

// ruleEventTypes are the SAM function event types that create an
// EventBridge rule.
var ruleEventTypes = map[string]bool{"EventBridgeRule": true, "CloudWatchEvent": true}

// checkEventRules checks every way a function is invoked that is not an API
// route: each is an EventBridge rule of the rule table (same function, bus
// and pattern), with a dead-letter queue of the template; the queues' policies
// let only those rules send; and nothing else in the template invokes a
// function, defines a rule, or opens a bus to other accounts.
func checkEventRules(tpl *cfnTemplate, want map[string]eventRule, permissions map[string]invokePermission) []string {
	var problems []string
	got := map[string]eventRule{}
	rules := map[string]bool{} // "!GetAtt <Function><Event>.Arn": SAM's rule of each event
	for _, fn := range tpl.functions() {
		for _, e := range entries(fn.prop("Events")) {
			where := fn.ID + " event " + e.Key
			typ, _ := plainScalar(at(e.Value, "Type"))
			if typ == "Api" || typ == scheduleEventType || typ == streamEventType {
				continue // a route: checkRoutes; a schedule: checkScheduledFunctions; a stream: checkStreamConsumers
			}
			if !ruleEventTypes[typ] {
				problems = append(problems, fmt.Sprintf("%s is a %s event, which no check reads: invoke functions through API routes or EventBridge rules, or teach this check", where, render(at(e.Value, "Type"))))
				continue
			}
			rules["!GetAtt "+fn.ID+e.Key+".Arn"] = true
			props := at(e.Value, "Properties")
			pattern := at(props, "Pattern")
			detailTypes := items(at(pattern, "detail-type"))
			detailType, ok := "", len(detailTypes) == 1
			if ok {
				detailType, ok = plainScalar(detailTypes[0])
			}
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: the pattern's detail-type is %s, want exactly one", where, render(at(pattern, "detail-type"))))
				continue
			}
			bus := "default"
			if n := at(props, "EventBusName"); n != nil {
				bus = render(n)
				if id, ok := ref(n); !ok || !isType(tpl, id, "AWS::Events::EventBus") {
					problems = append(problems, fmt.Sprintf("%s: EventBusName is %s, want !Ref of an AWS::Events::EventBus of the template (or none, for the default bus)", where, bus))
				}
			}
			if other, dup := got[detailType]; dup {
				problems = append(problems, fmt.Sprintf("%s: a rule for %q is also %s's", where, detailType, other.Function))
			}
			got[detailType] = eventRule{Function: fn.ID, Bus: bus, Pattern: patternString(pattern)}
			dlq := at(props, "DeadLetterConfig")
			if q, attr, ok := getAtt(at(dlq, "Arn")); ok && attr == "Arn" && isType(tpl, q, "AWS::SQS::Queue") {
				continue
			}
			if typ, _ := plainScalar(at(dlq, "Type")); typ != "SQS" {
				problems = append(problems, fmt.Sprintf("%s: no dead-letter queue (DeadLetterConfig.Arn: !GetAtt <AWS::SQS::Queue>.Arn): an event EventBridge cannot deliver would be lost", where))
			}
		}
	}
	for _, dt := range slices.Sorted(maps.Keys(got)) {
		g := got[dt]
		w, ok := want[dt]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("rule %q → %s is not in the rule table", dt, g.Function))
			continue
		case g.Function != w.Function:
			problems = append(problems, fmt.Sprintf("rule %q goes to %s, want %s", dt, g.Function, w.Function))
		}
		if g.Bus != w.Bus {
			problems = append(problems, fmt.Sprintf("rule %q → %s is on bus %s, want %s", dt, g.Function, g.Bus, w.Bus))
		}
		if g.Pattern != w.Pattern {
			problems = append(problems, fmt.Sprintf("rule %q → %s matches %s, want %s", dt, g.Function, g.Pattern, w.Pattern))
		}
	}
	for _, dt := range slices.Sorted(maps.Keys(want)) {
		if _, ok := got[dt]; !ok {
			problems = append(problems, fmt.Sprintf("rule %q → %s is in the rule table but not in the template", dt, want[dt].Function))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(permissions)) {
		if !isType(tpl, id, "AWS::Lambda::Permission") {
			problems = append(problems, fmt.Sprintf("%s is in the permission table but is no AWS::Lambda::Permission of the template", id))
		}
	}
	for _, r := range tpl.resources() {
		switch r.Type {
		case "AWS::Events::Rule":
			problems = append(problems, fmt.Sprintf("%s is a rule outside the functions' events, which this check cannot tie to the rule table", r.ID))
		case "AWS::Lambda::Permission":
			if r.ID == sharedAuthorizerPermission {
				continue // another API's use of the authorizer: checkSharedAuthorizer
			}
			problems = append(problems, checkPermission(tpl, r, permissions)...)
		case "AWS::Lambda::Url", "AWS::Lambda::EventSourceMapping":
			problems = append(problems, fmt.Sprintf("%s (%s) lets something invoke a function beyond the SAM events' own permissions", r.ID, r.Type))
		case "AWS::Events::EventBusPolicy":
			problems = append(problems, fmt.Sprintf("%s lets other principals put events on a bus: anyone who can put a \"Sandbox Refresh Requested\" event starts runs for any tenant", r.ID))
		case "AWS::Events::EventBus":
			if r.prop("Policy") != nil {
				problems = append(problems, fmt.Sprintf("%s has a Policy: anyone it lets put a \"Sandbox Refresh Requested\" event starts runs for any tenant", r.ID))
			}
		case "AWS::SQS::QueuePolicy":
			problems = append(problems, checkDeadLetterPolicy(r, rules)...)
		}
	}
	return problems
}

// checkDeadLetterPolicy checks a queue policy: it may only let EventBridge
// send messages, and only from the rules of the functions' events.
func checkDeadLetterPolicy(r resource, rules map[string]bool) []string {
	stmts, problems := statements(r.ID+" PolicyDocument", r.prop("PolicyDocument"))
	for i, st := range stmts {
		where := fmt.Sprintf("%s statement %d", r.ID, i)
		if effect, _ := plainScalar(valueOf(st, "Effect")); effect != "Allow" {
			continue
		}
		principal := valueOf(st, "Principal")
		if es := entries(principal); len(es) != 1 || es[0].Key != "Service" || render(es[0].Value) != "events.amazonaws.com" {
			problems = append(problems, fmt.Sprintf("%s lets %s send, want only Service events.amazonaws.com", where, render(principal)))
		}
		if got := render(valueOf(st, "Action")); got != "sqs:SendMessage" && got != "[sqs:SendMessage]" {
			problems = append(problems, fmt.Sprintf("%s allows %s, want sqs:SendMessage", where, got))
		}
		conds := entries(valueOf(st, "Condition"))
		sources := items(at(valueOf(st, "Condition"), "ArnEquals.aws:SourceArn"))
		if len(conds) != 1 || conds[0].Key != "ArnEquals" || len(entries(conds[0].Value)) != 1 || len(sources) == 0 {
			problems = append(problems, fmt.Sprintf("%s: Condition is %s, want only ArnEquals aws:SourceArn of the functions' rules", where, render(valueOf(st, "Condition"))))
			continue
		}
		for _, s := range sources {
			if !rules[render(s)] {
				problems = append(problems, fmt.Sprintf("%s lets %s send, which is not a rule of a function's events (%v)", where, render(s), slices.Sorted(maps.Keys(rules))))
			}
		}
	}
	return problems
}

func isType(tpl *cfnTemplate, id, typ string) bool {
	r, ok := tpl.resource(id)
	return ok && r.Type == typ
}
