package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dcs-access/dcs-access/internal/plans"
)

// grant is one IAM action on one resource, the resource written as the
// template writes it ("!GetAtt TokenTable.Arn", "*"), and the Condition of
// the statement that allows it, as renderCondition writes it ("" for none).
// A condition is part of the grant: dropping it widens the grant.
type grant struct{ Action, Resource, Condition string }

func (g grant) String() string {
	s := g.Action + " on " + g.Resource
	if g.Condition != "" {
		s += " (when " + g.Condition + ")"
	}
	return s
}

// tableARN is how a policy must name the token table, and index1ARN its one
// global secondary index (internal/dynamo.Index1).
const (
	tableARN  = "!GetAtt TokenTable.Arn"
	index1ARN = "!Sub ${TokenTable.Arn}/index/gsi1"
	// streamARN is how a policy must name the table's stream: the table's
	// streams, as the DynamoDB Developer Guide's policy for a Lambda
	// function that reads them does (a stream's own ARN changes whenever
	// the stream is turned off and on).
	streamARN = "!Sub ${TokenTable.Arn}/stream/*"
)

// streamReadActions are what Lambda's event source mapping needs to poll a
// DynamoDB stream, with the function's role: granted on streamARN only, and
// used by no code of the function.
var streamReadActions = map[string]bool{
	"dynamodb:DescribeStream":   true,
	"dynamodb:GetRecords":       true,
	"dynamodb:GetShardIterator": true,
	"dynamodb:ListStreams":      true,
}

// tenantSecretsARN is how a policy must name the secrets the pipeline reads:
// every secret called <plans.SecretPrefix>..., the only names a plan may give
// (dcs-access/<tenant>/...), of this account and region.
const tenantSecretsARN = "!Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:" + plans.SecretPrefix + "*"

// dcsTokenSecretsARN is the one narrower name of tenant secrets a policy may
// give: the pipelines' DCS token secrets (plans.SecretName's
// dcs-access/<tenant>/<sandbox>/dcs-token) and the hyphen and six random
// characters Secrets Manager appends to a name in the ARN, which the
// rotation function is limited to.
const dcsTokenSecretsARN = "!Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:" + plans.SecretPrefix + "*/" + plans.DCSTokenSecret + "-??????"

// rotationFunctionARN is how a policy names the rotation function: by its
// FunctionName (a !GetAtt would make a dependency cycle).
const rotationFunctionARN = "!Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-dcs-token-rotation"

// schedulesARN is how a policy must name the schedules the plans function
// keeps: those of the stack's schedule group, of this account and region.
const schedulesARN = "!Sub arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${SandboxRefreshScheduleGroup}/*"

// passToScheduler is the condition, as renderCondition writes it, under
// which a role may be passed: to EventBridge Scheduler only.
const passToScheduler = "StringEquals iam:PassedToService=" + schedulerService

// unscopedActions are the only actions an identity policy may allow on "*",
// because AWS authorizes them on no narrower resource; anything else on "*"
// is a problem even if an allowlist lists it.
var unscopedActions = map[string]bool{
	// X-Ray: what Lambda (Tracing: Active) and Step Functions (Tracing.Enabled) send traces with.
	"xray:PutTraceSegments":    true,
	"xray:PutTelemetryRecords": true,
	"xray:GetSamplingRules":    true,
	"xray:GetSamplingTargets":  true,
	// CloudWatch Logs vended-log delivery, which a state machine's role needs
	// to log (Step Functions Developer Guide, "IAM policies for logging to
	// CloudWatch Logs"): exactly that documented list.
	"logs:CreateLogDelivery":        true,
	"logs:GetLogDelivery":           true,
	"logs:UpdateLogDelivery":        true,
	"logs:DeleteLogDelivery":        true,
	"logs:ListLogDeliveries":        true,
	"logs:PutResourcePolicy":        true,
	"logs:DescribeResourcePolicies": true,
	"logs:DescribeLogGroups":        true,
}

// logDeliveryGrants are the grants a state machine's role needs to log to
// CloudWatch Logs: the logs actions of unscopedActions, on "*".
func logDeliveryGrants() []grant {
	var out []grant
	for _, a := range slices.Sorted(maps.Keys(unscopedActions)) {
		if strings.HasPrefix(a, "logs:") {
			out = append(out, grant{a, "*", ""})
		}
	}
	return out
}

// Services that assume the template's roles.
const (
	lambdaService    = "lambda.amazonaws.com"
	statesService    = "states.amazonaws.com"
	schedulerService = "scheduler.amazonaws.com"
)

// trust is who may assume a role: one service, under the Condition of the
// trust statement as renderCondition writes it ("" for none).
type trust struct{ Service, Condition string }

// serviceRole is what a role that no function or state machine runs as may
// do: a role an AWS service uses on the stack's behalf.
type serviceRole struct {
	Trust           trust    // who may assume it
	ManagedPolicies []string // its ManagedPolicyArns, as render writes them
	Grants          []grant  // everything its policies allow
}

// commonGrants are what every function may have, and needs: writing its own
// log group and sending traces (Tracing: Active).
func commonGrants(logGroup string) []grant {
	return []grant{
		{"logs:CreateLogStream", logGroup, ""},
		{"logs:PutLogEvents", logGroup, ""},
		{"xray:PutTraceSegments", "*", ""},
		{"xray:PutTelemetryRecords", "*", ""},
	}
}

// roleUsers returns the resources that run as a role of the template: the
// functions and the state machines.
func (tpl *cfnTemplate) roleUsers() []resource {
	return append(tpl.functions(), tpl.ofType("AWS::Serverless::StateMachine")...)
}

// functionRole returns the logical id of the AWS::IAM::Role fn (a function or
// a state machine) runs as.
func functionRole(tpl *cfnTemplate, fn resource) (string, []string) {
	role := fn.prop("Role")
	if role == nil {
		return "", []string{fmt.Sprintf("%s has no Role: SAM would create one with AWS managed policies; give it an AWS::IAM::Role this check can read", fn.ID)}
	}
	id, attr, ok := getAtt(role)
	if !ok || attr != "Arn" {
		return "", []string{fmt.Sprintf("%s: Role is %s, want !GetAtt <Role>.Arn of a role in this template", fn.ID, render(role))}
	}
	r, ok := tpl.resource(id)
	if !ok || r.Type != "AWS::IAM::Role" {
		return "", []string{fmt.Sprintf("%s: Role %s is not an AWS::IAM::Role of this template", fn.ID, id)}
	}
	return id, nil
}

// functionLogGroup returns how a policy names fn's own log group.
func functionLogGroup(tpl *cfnTemplate, fn resource) (string, []string) {
	id, ok := ref(fn.prop("LoggingConfig.LogGroup"))
	if !ok {
		return "", []string{fmt.Sprintf("%s: LoggingConfig.LogGroup is %s, want !Ref of its own AWS::Logs::LogGroup", fn.ID, render(fn.prop("LoggingConfig.LogGroup")))}
	}
	if r, ok := tpl.resource(id); !ok || r.Type != "AWS::Logs::LogGroup" {
		return "", []string{fmt.Sprintf("%s: LoggingConfig.LogGroup %s is not an AWS::Logs::LogGroup of this template", fn.ID, id)}
	}
	return "!GetAtt " + id + ".Arn", nil
}

// roleGrants returns everything the role roleID is allowed: its inline
// policies and every policy resource attached to it. Anything that could
// grant more and that this check cannot read is a problem (managed policies
// other than managed), and so is a role that anyone but who may assume.
func roleGrants(tpl *cfnTemplate, roleID string, who trust, managed []string) ([]grant, []string) {
	role, _ := tpl.resource(roleID)
	var grants []grant
	var problems []string
	problems = append(problems, checkAssumeRole(roleID, who, role.prop("AssumeRolePolicyDocument"))...)
	var arns []string
	for _, a := range items(role.prop("ManagedPolicyArns")) {
		arns = append(arns, render(a))
	}
	for _, a := range arns {
		if !slices.Contains(managed, a) {
			problems = append(problems, fmt.Sprintf("%s: ManagedPolicyArns has %s: managed policies are not in the allowlist; write the statements inline", roleID, a))
		}
	}
	for _, a := range managed {
		if !slices.Contains(arns, a) {
			problems = append(problems, fmt.Sprintf("%s: ManagedPolicyArns lacks %s, which its allowlist has", roleID, a))
		}
	}
	for i, p := range items(role.prop("Policies")) {
		name, _ := plainScalar(at(p, "PolicyName"))
		g, pr := documentGrants(fmt.Sprintf("%s policy %d (%s)", roleID, i, name), at(p, "PolicyDocument"))
		grants, problems = append(grants, g...), append(problems, pr...)
	}
	for _, r := range tpl.resources() {
		var attached []*yaml.Node
		switch r.Type {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			attached = items(r.prop("Roles"))
		case "AWS::IAM::RolePolicy":
			attached = items(r.prop("RoleName"))
		default:
			continue
		}
		for _, a := range attached {
			if id, ok := ref(a); !ok {
				problems = append(problems, fmt.Sprintf("%s attaches to role %s: name roles with !Ref so this check can tell which", r.ID, render(a)))
			} else if id == roleID {
				g, pr := documentGrants(r.ID, r.prop("PolicyDocument"))
				grants, problems = append(grants, g...), append(problems, pr...)
			}
		}
	}
	return grants, problems
}

// checkAssumeRole checks that only who.Service (Lambda for a function's
// role, Step Functions for a state machine's) may assume a role, and only
// under exactly who.Condition.
func checkAssumeRole(roleID string, who trust, doc *yaml.Node) []string {
	stmts, problems := statements(roleID+" AssumeRolePolicyDocument", doc)
	for _, st := range stmts {
		if effect, _ := plainScalar(at(st, "Effect")); effect != "Allow" {
			continue
		}
		principal := at(st, "Principal")
		es := entries(principal)
		if len(es) != 1 || es[0].Key != "Service" || render(es[0].Value) != who.Service {
			problems = append(problems, fmt.Sprintf("%s may be assumed by %s, want only Service %s", roleID, render(principal), who.Service))
		}
		if got := render(at(st, "Action")); got != "sts:AssumeRole" && got != "[sts:AssumeRole]" {
			problems = append(problems, fmt.Sprintf("%s trust policy allows %s, want sts:AssumeRole", roleID, got))
		}
		if got := renderCondition(at(st, "Condition")); got != who.Condition {
			problems = append(problems, fmt.Sprintf("%s trust policy's condition is %q, want %q", roleID, got, who.Condition))
		}
	}
	return problems
}

// statements returns the statements of a policy document.
func statements(where string, doc *yaml.Node) ([]*yaml.Node, []string) {
	st := at(doc, "Statement")
	if st == nil {
		return nil, []string{fmt.Sprintf("%s: no policy document with a Statement", where)}
	}
	var out []*yaml.Node
	for _, s := range items(st) {
		if entries(s) == nil {
			return nil, []string{fmt.Sprintf("%s: statement %s is not understood by this check", where, render(s))}
		}
		out = append(out, s)
	}
	return out, nil
}

// documentGrants returns the (action, resource) pairs an identity policy
// document allows. Deny statements only narrow, so they are skipped;
// NotAction, NotResource and anything else unexpected are problems.
func documentGrants(where string, doc *yaml.Node) ([]grant, []string) {
	stmts, problems := statements(where, doc)
	var grants []grant
	for i, st := range stmts {
		here := fmt.Sprintf("%s statement %d", where, i)
		effect, _ := plainScalar(valueOf(st, "Effect"))
		if effect == "Deny" {
			continue
		}
		if effect != "Allow" {
			problems = append(problems, fmt.Sprintf("%s: Effect %s is not understood", here, render(valueOf(st, "Effect"))))
			continue
		}
		for _, e := range entries(st) {
			switch e.Key {
			case "Sid", "Effect", "Action", "Resource", "Condition":
			default:
				problems = append(problems, fmt.Sprintf("%s: %s is not understood by this check", here, e.Key))
			}
		}
		resources := items(valueOf(st, "Resource"))
		if len(resources) == 0 {
			problems = append(problems, fmt.Sprintf("%s: no Resource", here))
		}
		cond := renderCondition(valueOf(st, "Condition"))
		for _, a := range items(valueOf(st, "Action")) {
			action, ok := plainScalar(a)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: action %s is not understood", here, render(a)))
				continue
			}
			for _, r := range resources {
				grants = append(grants, grant{action, render(r), cond})
			}
		}
	}
	return grants, problems
}

// samPolicyGrants reads a function's SAM Policies property. Only inline
// policy documents are understood: SAM policy templates and managed policies
// expand to statements this check cannot see, so they are problems.
func samPolicyGrants(where string, policies *yaml.Node) ([]grant, []string) {
	if policies == nil {
		return nil, nil
	}
	var grants []grant
	var problems []string
	for i, p := range items(policies) {
		if at(p, "Statement") != nil {
			g, pr := documentGrants(fmt.Sprintf("%s Policies %d", where, i), p)
			grants, problems = append(grants, g...), append(problems, pr...)
			continue
		}
		problems = append(problems, fmt.Sprintf("%s: Policies entry %s is a SAM policy template or managed policy this check cannot read; write the statements in the function's role", where, render(p)))
	}
	return grants, problems
}

// checkFunctionGrants checks that fn may do exactly what allowed lists, plus
// the common grants on its own log group: more is a widening the allowlist
// must show; less breaks the function in AWS, where nothing here can test it.
func checkFunctionGrants(tpl *cfnTemplate, fnID string, allowed []grant) []string {
	fn, ok := tpl.resource(fnID)
	if !ok {
		return []string{fmt.Sprintf("no resource %s", fnID)}
	}
	want := slices.Clone(allowed)
	var problems []string
	if logGroup, pr := functionLogGroup(tpl, fn); logGroup != "" {
		want = append(want, commonGrants(logGroup)...)
	} else {
		problems = append(problems, pr...)
	}
	return append(problems, checkGrants(tpl, fn, lambdaService, at(tpl.root, "Globals.Function.Policies"), want)...)
}

// checkStateMachineGrants checks that the state machine smID may do exactly
// what allowed lists (its logging and tracing included: a state machine's
// log delivery needs other actions than a function's log group).
func checkStateMachineGrants(tpl *cfnTemplate, smID string, allowed []grant) []string {
	sm, ok := tpl.resource(smID)
	if !ok || sm.Type != "AWS::Serverless::StateMachine" {
		return []string{fmt.Sprintf("no AWS::Serverless::StateMachine %s", smID)}
	}
	return checkGrants(tpl, sm, statesService, nil, allowed)
}

// checkGrants checks that r (a function or a state machine) may do exactly
// want: through SAM Policies (its own and globals), and through its role,
// which only service may assume and which nothing else runs as.
func checkGrants(tpl *cfnTemplate, r resource, service string, globals *yaml.Node, want []grant) []string {
	var got []grant
	var problems []string
	for _, src := range []struct {
		where string
		node  *yaml.Node
	}{
		{"Globals.Function", globals},
		{r.ID, r.prop("Policies")},
	} {
		g, pr := samPolicyGrants(src.where, src.node)
		got, problems = append(got, g...), append(problems, pr...)
	}
	roleID, pr := functionRole(tpl, r)
	problems = append(problems, pr...)
	if roleID != "" {
		g, pr := roleGrants(tpl, roleID, trust{Service: service}, nil)
		got, problems = append(got, g...), append(problems, pr...)
		for _, other := range tpl.roleUsers() {
			if id, _, _ := getAtt(other.prop("Role")); other.ID != r.ID && id == roleID {
				problems = append(problems, fmt.Sprintf("%s shares role %s with %s: each function and state machine gets its own", r.ID, roleID, other.ID))
			}
		}
	}
	return append(problems, compareGrants(r.ID, got, want)...)
}

// compareGrants reports what who is granted beyond want, and what it lacks.
func compareGrants(who string, got, want []grant) []string {
	var problems []string
	gotSet, wantSet := grantSet(got), grantSet(want)
	for _, g := range sortedGrants(gotSet) {
		if !wantSet[g] {
			problems = append(problems, fmt.Sprintf("%s is granted %s, which its allowlist does not have", who, g))
		}
	}
	for _, g := range sortedGrants(wantSet) {
		if !gotSet[g] {
			problems = append(problems, fmt.Sprintf("%s lacks %s, which its allowlist has (it needs it)", who, g))
		}
	}
	return problems
}

// checkServiceRole checks that the role roleID, which a service uses and no
// function or state machine runs as, may do exactly what want lists, and
// that only want.Trust may assume it.
func checkServiceRole(tpl *cfnTemplate, roleID string, want serviceRole) []string {
	if r, ok := tpl.resource(roleID); !ok || r.Type != "AWS::IAM::Role" {
		return []string{fmt.Sprintf("no AWS::IAM::Role %s", roleID)}
	}
	var problems []string
	for _, u := range tpl.roleUsers() {
		if id, _, _ := getAtt(u.prop("Role")); id == roleID {
			problems = append(problems, fmt.Sprintf("%s runs as %s, the role of %s: give it its own", u.ID, roleID, want.Trust.Service))
		}
	}
	got, pr := roleGrants(tpl, roleID, want.Trust, want.ManagedPolicies)
	problems = append(problems, pr...)
	return append(problems, compareGrants(roleID, got, want.Grants)...)
}

// checkRolesAccounted checks that every role of the template is some
// function's or state machine's (whose allowlists check it), or in roles.
func checkRolesAccounted(tpl *cfnTemplate, roles map[string]serviceRole) []string {
	used := map[string]bool{}
	for _, u := range tpl.roleUsers() {
		if id, _, ok := getAtt(u.prop("Role")); ok {
			used[id] = true
		}
	}
	var problems []string
	for _, r := range tpl.ofType("AWS::IAM::Role") {
		if !used[r.ID] && roles[r.ID].Trust.Service == "" {
			problems = append(problems, fmt.Sprintf("%s is a role no function or state machine runs as, and it is not in roleAllowlist: add it, with who may assume it and everything it may do", r.ID))
		}
	}
	return problems
}

func grantSet(gs []grant) map[grant]bool {
	set := map[grant]bool{}
	for _, g := range gs {
		set[g] = true
	}
	return set
}

func sortedGrants(set map[grant]bool) []grant {
	return slices.SortedFunc(maps.Keys(set), func(a, b grant) int { return strings.Compare(a.String(), b.String()) })
}

// checkPolicyStatements checks every policy statement anywhere in the
// template (roles, policies, key policies, trust policies, queue policies):
// no wildcard or NotAction actions; in identity policies, DynamoDB actions
// only on the token table, Secrets Manager actions only on the tenants'
// secrets, Scheduler actions only on the stack's schedules, iam:PassRole
// only to one service (iam:PassedToService), and nothing on "*" but
// unscopedActions.
func checkPolicyStatements(tpl *cfnTemplate) []string {
	var problems []string
	var walk func(where string, n *yaml.Node)
	walk = func(where string, n *yaml.Node) {
		n = deref(n)
		if n == nil {
			return
		}
		for _, e := range entries(n) {
			if e.Key == "Statement" {
				for i, st := range items(e.Value) {
					for _, b := range statementBranches(st) {
						problems = append(problems, checkStatement(fmt.Sprintf("%s statement %d%s", where, i, b.when), b.node)...)
					}
				}
				continue
			}
			walk(where+"."+e.Key, e.Value)
		}
		if entries(n) == nil {
			for i, c := range n.Content {
				walk(fmt.Sprintf("%s.%d", where, i), c)
			}
		}
	}
	walk("Resources", at(tpl.root, "Resources"))
	walk("Globals", at(tpl.root, "Globals"))
	return problems
}

// branch is a statement that a policy has under some conditions.
type branch struct {
	node *yaml.Node
	when string // " (if C)", " (unless C)"...; "" for an unconditional statement
}

// statementBranches returns every statement st may be: itself, or for an
// !If every branch that is not AWS::NoValue, so that each is checked.
func statementBranches(st *yaml.Node) []branch {
	fn, arg, ok := intrinsic(st)
	parts := items(arg)
	if !ok || fn != "Fn::If" || arg.Kind != yaml.SequenceNode || len(parts) != 3 {
		return []branch{{deref(st), ""}}
	}
	cond := render(parts[0])
	var out []branch
	for i, when := range []string{" (if " + cond + ")", " (unless " + cond + ")"} {
		if isNoValue(parts[i+1]) {
			continue
		}
		for _, b := range statementBranches(parts[i+1]) {
			out = append(out, branch{b.node, when + b.when})
		}
	}
	return out
}

func checkStatement(where string, st *yaml.Node) []string {
	var problems []string
	if valueOf(st, "NotAction") != nil || valueOf(st, "NotResource") != nil || valueOf(st, "NotPrincipal") != nil {
		problems = append(problems, fmt.Sprintf("%s uses NotAction, NotResource or NotPrincipal, which grant by exclusion", where))
	}
	identity := valueOf(st, "Principal") == nil
	for _, a := range items(valueOf(st, "Action")) {
		action := render(a)
		if strings.Contains(action, "*") {
			problems = append(problems, fmt.Sprintf("%s allows %s: no wildcard actions", where, action))
		}
		if !identity {
			continue // a resource policy: "*" is the resource itself
		}
		only := ""
		switch service, _, _ := strings.Cut(strings.ToLower(action), ":"); service {
		case "dynamodb":
			only = tableARN
		case "secretsmanager":
			only = tenantSecretsARN // or the narrower dcsTokenSecretsARN
		case "scheduler":
			only = schedulesARN
		}
		if strings.EqualFold(action, "iam:PassRole") {
			if passed := items(at(valueOf(st, "Condition"), "StringEquals.iam:PassedToService")); len(passed) != 1 {
				problems = append(problems, fmt.Sprintf("%s allows iam:PassRole without a Condition StringEquals iam:PassedToService naming one service: the role could be passed to any service", where))
			}
		}
		for _, r := range items(valueOf(st, "Resource")) {
			got := render(r)
			if only == tableARN && got == index1ARN && strings.EqualFold(action, "dynamodb:Query") {
				continue // the table's index: queried, never written
			}
			if only == tenantSecretsARN && got == dcsTokenSecretsARN {
				continue // within the tenants' secrets
			}
			if only == tableARN && streamReadActions[action] {
				if got != streamARN {
					problems = append(problems, fmt.Sprintf("%s allows %s on %s, want only on %s", where, action, got, streamARN))
				}
				continue
			}
			if only != "" && got != only {
				problems = append(problems, fmt.Sprintf("%s allows %s on %s, want only on %s", where, action, got, only))
			}
			if got == "*" && !unscopedActions[action] {
				problems = append(problems, fmt.Sprintf("%s allows %s on *: only actions AWS authorizes on no narrower resource may be (unscopedActions)", where, action))
			}
		}
	}
	return problems
}

// keyUse is an action a function's role may take on the KMS keys of the
// template: on exactly the keys its environment variable EnvVar names (by
// ARN, comma-separated), and with the statement Condition that
// renderCondition writes as Condition ("" for none).
type keyUse struct {
	Action, EnvVar, Condition string
}

// keyGrant is an action a key policy lets a principal take on the key, and
// the condition it is granted under.
type keyGrant struct{ Principal, Action, Condition string }

func (g keyGrant) String() string {
	s := g.Principal + " " + g.Action
	if g.Condition != "" {
		s += " (when " + g.Condition + ")"
	}
	return s
}

// checkKeyPolicies checks every KMS key's policy in every combination of
// the parameters that decide the key policies and the functions' key
// variables: the account root gets only rootActions, on every key; a
// function's role only what byFunction lists for it, and only on the keys
// its variable names in that combination; nobody else anything; and
// everything listed is granted.
func checkKeyPolicies(tpl *cfnTemplate, rootActions []string, byFunction map[string][]keyUse) []string {
	// The principal each function's role appears as.
	roleOf := map[string]string{}
	for _, fn := range tpl.functions() {
		if id, _, ok := getAtt(fn.prop("Role")); ok {
			roleOf["!GetAtt "+id+".Arn"] = fn.ID
		}
	}
	keys := tpl.ofType("AWS::KMS::Key")
	if len(keys) == 0 {
		return []string{"no AWS::KMS::Key in the template"}
	}
	var problems []string
	// What decides the grants: the key policies and the variables naming keys.
	var decided []*yaml.Node
	for _, key := range keys {
		decided = append(decided, key.prop("KeyPolicy"))
	}
	for _, fnID := range slices.Sorted(maps.Keys(byFunction)) {
		fn, ok := tpl.resource(fnID)
		if !ok {
			problems = append(problems, fmt.Sprintf("no resource %s", fnID))
			continue
		}
		for _, use := range byFunction[fnID] {
			decided = append(decided, envValue(tpl, fn, use.EnvVar))
		}
	}
	scens, pr := scenarios(tpl, conditionsUsed(decided...))
	if len(pr) > 0 {
		return append(problems, pr...)
	}
	sp := newScenarioProblems(scens)
	for _, s := range scens {
		want := map[string]map[keyGrant]bool{} // by key
		why := map[keyGrant]string{}           // what limits a function's grant
		for _, key := range keys {
			want[key.ID] = map[keyGrant]bool{}
			for _, a := range rootActions {
				want[key.ID][keyGrant{"account root", a, ""}] = true
			}
		}
		for _, fnID := range slices.Sorted(maps.Keys(byFunction)) {
			fn, ok := tpl.resource(fnID)
			if !ok {
				continue
			}
			for _, use := range byFunction[fnID] {
				g := keyGrant{fnID, use.Action, use.Condition}
				why[g] = fmt.Sprintf("only on the keys %s's %s names", fnID, use.EnvVar)
				named, pr := keysNamed(tpl, s, fn, use.EnvVar)
				sp.add(s, pr...)
				for _, id := range named {
					want[id][g] = true
				}
			}
		}
		for _, key := range keys {
			policy, err := s.resolve(key.prop("KeyPolicy"))
			if err != nil {
				sp.add(s, fmt.Sprintf("%s KeyPolicy: %v", key.ID, err))
				continue
			}
			got, pr := keyPolicyGrants(key.ID, policy, roleOf)
			sp.add(s, pr...)
			for _, g := range slices.SortedFunc(maps.Keys(got), compareKeyGrants) {
				if !want[key.ID][g] {
					msg := fmt.Sprintf("%s: the key policy lets %s, which the allowlist does not", key.ID, g)
					if why[g] != "" {
						msg += " (" + why[g] + ")"
					}
					sp.add(s, msg)
				}
			}
			for _, g := range slices.SortedFunc(maps.Keys(want[key.ID]), compareKeyGrants) {
				if !got[g] {
					sp.add(s, fmt.Sprintf("%s: the key policy does not let %s, which the allowlist has", key.ID, g))
				}
			}
		}
	}
	return append(problems, sp.list()...)
}

// keyPolicyGrants returns what a key policy (with its !If resolved) allows,
// by principal.
func keyPolicyGrants(keyID string, policy *yaml.Node, roleOf map[string]string) (map[keyGrant]bool, []string) {
	got := map[keyGrant]bool{}
	stmts, problems := statements(keyID+" KeyPolicy", policy)
	for i, st := range stmts {
		where := fmt.Sprintf("%s KeyPolicy statement %d", keyID, i)
		if effect, _ := plainScalar(valueOf(st, "Effect")); effect != "Allow" {
			continue
		}
		es := entries(valueOf(st, "Principal"))
		if len(es) != 1 || es[0].Key != "AWS" {
			problems = append(problems, fmt.Sprintf("%s: principal %s is not understood, want AWS: <role or account root>", where, render(valueOf(st, "Principal"))))
			continue
		}
		cond := renderCondition(valueOf(st, "Condition"))
		for _, p := range items(es[0].Value) {
			who := render(p)
			switch {
			case rootPrincipals[who]:
				who = "account root"
			case roleOf[who] != "":
				who = roleOf[who]
			default:
				problems = append(problems, fmt.Sprintf("%s: principal %s is neither the account root nor a function's role", where, who))
				continue
			}
			for _, a := range items(valueOf(st, "Action")) {
				got[keyGrant{who, render(a), cond}] = true
			}
		}
	}
	return got, problems
}

// renderCondition writes a statement's Condition as "Operator key=value,
// key=value; Operator ...", operators and keys sorted; "" for none.
func renderCondition(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return ""
	}
	ops := entries(n)
	if ops == nil {
		return render(n)
	}
	var parts []string
	for _, op := range slices.SortedFunc(slices.Values(ops), func(a, b entry) int { return strings.Compare(a.Key, b.Key) }) {
		kvs := entries(op.Value)
		if kvs == nil {
			parts = append(parts, op.Key+" "+render(op.Value))
			continue
		}
		var pairs []string
		for _, kv := range kvs {
			pairs = append(pairs, kv.Key+"="+render(kv.Value))
		}
		slices.Sort(pairs)
		parts = append(parts, op.Key+" "+strings.Join(pairs, ", "))
	}
	return strings.Join(parts, "; ")
}

// keysNamed returns the KMS keys of the template that fn's variable name
// names in scenario s: !GetAtt <Key>.Arn, or several such ARNs joined by
// commas (!Sub "${A.Arn},${B.Arn}" or !Join [",", [...]]).
func keysNamed(tpl *cfnTemplate, s scenario, fn resource, name string) ([]string, []string) {
	v, err := s.resolve(envValue(tpl, fn, name))
	if err != nil {
		return nil, []string{fmt.Sprintf("%s %s: %v", fn.ID, name, err)}
	}
	if v == nil {
		return nil, nil // unset: the environment check reports it
	}
	var ids []string
	cannot := []string{fmt.Sprintf("%s: %s is %s, which this check cannot read as KMS key ARNs of the template", fn.ID, name, render(v))}
	if res, attr, ok := getAtt(v); ok && attr == "Arn" {
		ids = []string{res}
	} else if fn, arg, ok := intrinsic(v); ok && fn == "Fn::Sub" {
		text, ok := plainScalar(arg)
		if !ok {
			return nil, cannot
		}
		for _, part := range strings.Split(text, ",") {
			part = strings.TrimSpace(part)
			res, ok := strings.CutSuffix(strings.TrimPrefix(part, "${"), ".Arn}")
			if !ok || !strings.HasPrefix(part, "${") || strings.ContainsAny(res, "${}.") {
				return nil, cannot
			}
			ids = append(ids, res)
		}
	} else if ok && fn == "Fn::Join" {
		args := items(arg)
		if len(args) != 2 {
			return nil, cannot
		}
		if sep, _ := plainScalar(args[0]); sep != "," {
			return nil, cannot
		}
		for _, part := range items(args[1]) {
			res, attr, ok := getAtt(part)
			if !ok || attr != "Arn" {
				return nil, cannot
			}
			ids = append(ids, res)
		}
	} else {
		return nil, cannot
	}
	var problems []string
	for _, id := range ids {
		if r, ok := tpl.resource(id); !ok || r.Type != "AWS::KMS::Key" {
			problems = append(problems, fmt.Sprintf("%s: %s names %s, which is not an AWS::KMS::Key of the template", fn.ID, name, id))
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return ids, nil
}

func compareKeyGrants(a, b keyGrant) int {
	return strings.Compare(a.String(), b.String())
}

// rootPrincipals are the ways a key policy names the account itself.
var rootPrincipals = map[string]bool{
	"!Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:root": true,
	"!Ref AWS::AccountId": true,
}
