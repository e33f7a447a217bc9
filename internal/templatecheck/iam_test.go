package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// grant is one IAM action on one resource, the resource written as the
// template writes it ("!GetAtt TokenTable.Arn", "*").
type grant struct{ Action, Resource string }

func (g grant) String() string { return g.Action + " on " + g.Resource }

// tableARN is how a policy must name the token table.
const tableARN = "!GetAtt TokenTable.Arn"

// commonGrants are what every function may have, and needs: writing its own
// log group and sending traces (Tracing: Active).
func commonGrants(logGroup string) []grant {
	return []grant{
		{"logs:CreateLogStream", logGroup},
		{"logs:PutLogEvents", logGroup},
		{"xray:PutTraceSegments", "*"},
		{"xray:PutTelemetryRecords", "*"},
	}
}

// functionRole returns the logical id of the AWS::IAM::Role fn runs as.
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
// grant more and that this check cannot read is a problem.
func roleGrants(tpl *cfnTemplate, roleID string) ([]grant, []string) {
	role, _ := tpl.resource(roleID)
	var grants []grant
	var problems []string
	problems = append(problems, checkAssumeRole(roleID, role.prop("AssumeRolePolicyDocument"))...)
	if arns := role.prop("ManagedPolicyArns"); arns != nil && len(items(arns)) > 0 {
		problems = append(problems, fmt.Sprintf("%s: ManagedPolicyArns %s: managed policies are not in the allowlist; write the statements inline", roleID, render(arns)))
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

// checkAssumeRole checks that only Lambda may assume a function's role.
func checkAssumeRole(roleID string, doc *yaml.Node) []string {
	stmts, problems := statements(roleID+" AssumeRolePolicyDocument", doc)
	for _, st := range stmts {
		if effect, _ := plainScalar(at(st, "Effect")); effect != "Allow" {
			continue
		}
		principal := at(st, "Principal")
		es := entries(principal)
		if len(es) != 1 || es[0].Key != "Service" || render(es[0].Value) != "lambda.amazonaws.com" {
			problems = append(problems, fmt.Sprintf("%s may be assumed by %s, want only Service lambda.amazonaws.com", roleID, render(principal)))
		}
		if got := render(at(st, "Action")); got != "sts:AssumeRole" && got != "[sts:AssumeRole]" {
			problems = append(problems, fmt.Sprintf("%s trust policy allows %s, want sts:AssumeRole", roleID, got))
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
		for _, a := range items(valueOf(st, "Action")) {
			action, ok := plainScalar(a)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: action %s is not understood", here, render(a)))
				continue
			}
			for _, r := range resources {
				grants = append(grants, grant{action, render(r)})
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
	var got []grant
	var problems []string
	for _, src := range []struct {
		where string
		node  *yaml.Node
	}{
		{"Globals.Function", at(tpl.root, "Globals.Function.Policies")},
		{fnID, fn.prop("Policies")},
	} {
		g, pr := samPolicyGrants(src.where, src.node)
		got, problems = append(got, g...), append(problems, pr...)
	}
	roleID, pr := functionRole(tpl, fn)
	problems = append(problems, pr...)
	if roleID != "" {
		g, pr := roleGrants(tpl, roleID)
		got, problems = append(got, g...), append(problems, pr...)
		for _, other := range tpl.functions() {
			if id, _, _ := getAtt(other.prop("Role")); other.ID != fnID && id == roleID {
				problems = append(problems, fmt.Sprintf("%s shares role %s with %s: each function gets its own", fnID, roleID, other.ID))
			}
		}
	}
	want := slices.Clone(allowed)
	if logGroup, pr := functionLogGroup(tpl, fn); logGroup != "" {
		want = append(want, commonGrants(logGroup)...)
	} else {
		problems = append(problems, pr...)
	}
	gotSet, wantSet := grantSet(got), grantSet(want)
	for _, g := range sortedGrants(gotSet) {
		if !wantSet[g] {
			problems = append(problems, fmt.Sprintf("%s is granted %s, which its allowlist does not have", fnID, g))
		}
	}
	for _, g := range sortedGrants(wantSet) {
		if !gotSet[g] {
			problems = append(problems, fmt.Sprintf("%s lacks %s, which its allowlist has (the function needs it)", fnID, g))
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
// template (roles, policies, key policies, trust policies): no wildcard or
// NotAction actions, and DynamoDB actions in identity policies only on the
// token table.
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
					problems = append(problems, checkStatement(fmt.Sprintf("%s statement %d", where, i), st)...)
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
		if !identity || !strings.HasPrefix(strings.ToLower(action), "dynamodb:") {
			continue
		}
		for _, r := range items(valueOf(st, "Resource")) {
			if got := render(r); got != tableARN {
				problems = append(problems, fmt.Sprintf("%s allows %s on %s, want only on %s", where, action, got, tableARN))
			}
		}
	}
	return problems
}

// keyGrant is an action a key policy lets a principal take on the key.
type keyGrant struct{ Principal, Action string }

// checkKeyPolicies checks every KMS key's policy: the account root gets only
// rootActions, a function's role only what byFunction lists for it, nobody
// else anything; and everything listed is granted.
func checkKeyPolicies(tpl *cfnTemplate, rootActions []string, byFunction map[string][]string) []string {
	var problems []string
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
	for _, key := range keys {
		want := map[keyGrant]bool{}
		for _, a := range rootActions {
			want[keyGrant{"account root", a}] = true
		}
		for fnID, actions := range byFunction {
			for _, a := range actions {
				want[keyGrant{fnID, a}] = true
			}
		}
		got := map[keyGrant]bool{}
		stmts, pr := statements(key.ID+" KeyPolicy", key.prop("KeyPolicy"))
		problems = append(problems, pr...)
		for i, st := range stmts {
			where := fmt.Sprintf("%s KeyPolicy statement %d", key.ID, i)
			if effect, _ := plainScalar(valueOf(st, "Effect")); effect != "Allow" {
				continue
			}
			es := entries(valueOf(st, "Principal"))
			if len(es) != 1 || es[0].Key != "AWS" {
				problems = append(problems, fmt.Sprintf("%s: principal %s is not understood, want AWS: <role or account root>", where, render(valueOf(st, "Principal"))))
				continue
			}
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
					got[keyGrant{who, render(a)}] = true
				}
			}
		}
		for _, g := range slices.SortedFunc(maps.Keys(got), compareKeyGrants) {
			if !want[g] {
				problems = append(problems, fmt.Sprintf("%s: the key policy lets %s %s, which the allowlist does not", key.ID, g.Principal, g.Action))
			}
		}
		for _, g := range slices.SortedFunc(maps.Keys(want), compareKeyGrants) {
			if !got[g] {
				problems = append(problems, fmt.Sprintf("%s: the key policy does not let %s %s, which the allowlist has", key.ID, g.Principal, g.Action))
			}
		}
	}
	return problems
}

func compareKeyGrants(a, b keyGrant) int {
	if c := strings.Compare(a.Principal, b.Principal); c != 0 {
		return c
	}
	return strings.Compare(a.Action, b.Action)
}

// rootPrincipals are the ways a key policy names the account itself.
var rootPrincipals = map[string]bool{
	"!Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:root": true,
	"!Ref AWS::AccountId": true,
}
