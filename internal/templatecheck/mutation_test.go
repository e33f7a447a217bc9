package templatecheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dcs-access/dcs-access/internal/api"
)

// set puts the YAML snippet at path, replacing the value there or adding
// the key to the mapping above it.
func set(t *testing.T, tpl *cfnTemplate, path, snippet string) {
	t.Helper()
	parent, key := parentOf(t, tpl, path)
	node := parseSnippet(t, snippet)
	switch parent.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if parent.Content[i].Value == key {
				parent.Content[i+1] = node
				return
			}
		}
		parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, node)
	case yaml.SequenceNode:
		parent.Content[index(t, parent, key)] = node
	default:
		t.Fatalf("cannot set %s: its parent is not a mapping or a sequence", path)
	}
}

// remove deletes the mapping key or sequence element at path.
func remove(t *testing.T, tpl *cfnTemplate, path string) {
	t.Helper()
	parent, key := parentOf(t, tpl, path)
	switch parent.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if parent.Content[i].Value == key {
				parent.Content = append(parent.Content[:i], parent.Content[i+2:]...)
				return
			}
		}
		t.Fatalf("cannot remove %s: no such key", path)
	case yaml.SequenceNode:
		i := index(t, parent, key)
		parent.Content = append(parent.Content[:i], parent.Content[i+1:]...)
	default:
		t.Fatalf("cannot remove %s: its parent is not a mapping or a sequence", path)
	}
}

// appendTo appends the YAML snippet to the sequence at path.
func appendTo(t *testing.T, tpl *cfnTemplate, path, snippet string) {
	t.Helper()
	seq := at(tpl.root, path)
	if seq == nil || seq.Kind != yaml.SequenceNode {
		t.Fatalf("cannot append to %s: not a sequence", path)
	}
	seq.Content = append(seq.Content, parseSnippet(t, snippet))
}

func parentOf(t *testing.T, tpl *cfnTemplate, path string) (*yaml.Node, string) {
	t.Helper()
	i := strings.LastIndex(path, ".")
	parent := at(tpl.root, path[:max(i, 0)])
	if i < 0 {
		parent = tpl.root
	}
	if parent == nil {
		t.Fatalf("the template has nothing at %s", path[:i])
	}
	return parent, path[i+1:]
}

func index(t *testing.T, seq *yaml.Node, key string) int {
	t.Helper()
	i, err := strconv.Atoi(key)
	if err != nil || i < 0 || i >= len(seq.Content) {
		t.Fatalf("no element %s in a sequence of %d", key, len(seq.Content))
	}
	return i
}

func parseSnippet(t *testing.T, snippet string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(snippet), &doc); err != nil || len(doc.Content) != 1 {
		t.Fatalf("bad snippet %q: %v", snippet, err)
	}
	return doc.Content[0]
}

func hasProblem(problems []string, want string) bool {
	for _, p := range problems {
		if strings.Contains(p, want) {
			return true
		}
	}
	return false
}

// mutation is a change to a copy of template.yaml that a check must catch.
type mutation struct {
	name   string
	mutate func(t *testing.T, tpl *cfnTemplate)
	check  func(tpl *cfnTemplate) []string
	want   string // part of the problem the check must report
}

// runMutations runs each check on a fresh copy of the template before and
// after its mutation: the problem must appear only after.
func runMutations(t *testing.T, mutations []mutation) {
	t.Helper()
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			tpl := loadTemplate(t)
			if before := m.check(tpl); hasProblem(before, m.want) {
				t.Fatalf("the unchanged template already has problem %q: %q", m.want, before)
			}
			m.mutate(t, tpl)
			if got := m.check(tpl); !hasProblem(got, m.want) {
				t.Errorf("got problems %q, want one containing %q", got, m.want)
			}
		})
	}
}

// setTo, removeAt and appendAt make one-step mutations.
func setTo(path, snippet string) func(*testing.T, *cfnTemplate) {
	return func(t *testing.T, tpl *cfnTemplate) { t.Helper(); set(t, tpl, path, snippet) }
}

func removeAt(path string) func(*testing.T, *cfnTemplate) {
	return func(t *testing.T, tpl *cfnTemplate) { t.Helper(); remove(t, tpl, path) }
}

func appendAt(path, snippet string) func(*testing.T, *cfnTemplate) {
	return func(t *testing.T, tpl *cfnTemplate) { t.Helper(); appendTo(t, tpl, path, snippet) }
}

func TestEnvironmentCheckCatchesMutations(t *testing.T) {
	reads := functionReads(t, repoRoot(t), loadTemplate(t)).reads
	env := func(fnID string) func(*cfnTemplate) []string {
		return func(tpl *cfnTemplate) []string { return checkEnvironment(tpl, fnID, reads[fnID]) }
	}
	withRead := func(fnID, name string) func(*cfnTemplate) []string {
		return func(tpl *cfnTemplate) []string {
			r := envReads{Required: map[string]bool{name: true}, Optional: reads[fnID].Optional}
			for n := range reads[fnID].Required {
				r.Required[n] = true
			}
			return checkEnvironment(tpl, fnID, r)
		}
	}
	const vars = "Properties.Environment.Variables"
	runMutations(t, []mutation{
		{"a required variable dropped from the template is missing",
			removeAt("Resources.ListTokensFunction." + vars + ".TABLE_NAME"), env("ListTokensFunction"), "missing: the code reads [TABLE_NAME]"},
		{"an optional variable dropped from the template is missing",
			removeAt("Resources.AuthorizerFunction." + vars + ".OIDC_JWKS_URL"), env("AuthorizerFunction"), "missing: the code reads [OIDC_JWKS_URL]"},
		{"a variable set to AWS::NoValue is missing",
			setTo("Resources.CreateTokenFunction."+vars+".SIGNING_KEY_ID", "!Ref AWS::NoValue"), env("CreateTokenFunction"), "missing: the code reads [SIGNING_KEY_ID]"},
		{"a variable the code does not read is unused",
			setTo("Resources.CreateTokenFunction."+vars+".LOG_LEVEL", "debug"), env("CreateTokenFunction"), "unused: the template sets [LOG_LEVEL]"},
		{"a Globals variable a function does not read is unused",
			setTo("Globals.Function.Environment", "{Variables: {STAGE: v1}}"), env("WhoAmIFunction"), "unused: the template sets [STAGE]"},
		{"the console origin dropped from a function that answers browsers is missing",
			removeAt("Resources.WhoAmIFunction.Properties.Environment"), env("WhoAmIFunction"), "WhoAmIFunction: missing: the code reads [CONSOLE_ORIGIN]"},
		{"the console origin given to every function is unused in the authorizer, which answers no browser",
			setTo("Globals.Function.Environment", "{Variables: {CONSOLE_ORIGIN: !Ref ConsoleOrigin}}"), env("AuthorizerFunction"), "AuthorizerFunction: unused: the template sets [CONSOLE_ORIGIN]"},
		{"the console origin given to every function is unused in the event function too",
			setTo("Globals.Function.Environment", "{Variables: {CONSOLE_ORIGIN: !Ref ConsoleOrigin}}"), env("SandboxRefreshEventsFunction"), "SandboxRefreshEventsFunction: unused: the template sets [CONSOLE_ORIGIN]"},
		{"a function setting a Globals variable to AWS::NoValue is missing it",
			func(t *testing.T, tpl *cfnTemplate) {
				set(t, tpl, "Globals.Function.Environment", "{Variables: {CONSOLE_ORIGIN: !Ref ConsoleOrigin}}")
				set(t, tpl, "Resources.ListTokensFunction."+vars+".CONSOLE_ORIGIN", "!Ref AWS::NoValue")
			}, env("ListTokensFunction"), "missing: the code reads [CONSOLE_ORIGIN]"},
		{"a required variable set only under a condition is caught",
			setTo("Resources.AuthorizerFunction."+vars+".TOKEN_ISSUER", "!If [HasOidcJwksUrl, x, !Ref AWS::NoValue]"), env("AuthorizerFunction"), "TOKEN_ISSUER is set only when HasOidcJwksUrl holds"},
		{"a required variable set to an empty string is caught",
			setTo("Resources.DeleteTokenFunction."+vars+".TABLE_NAME", `""`), env("DeleteTokenFunction"), "TABLE_NAME is set to an empty string"},
		{"environment variables the check cannot read are caught",
			setTo("Resources.ListTokensFunction."+vars, "!If [HasOidcJwksUrl, {TABLE_NAME: x}, {TABLE_NAME: y}]"), env("ListTokensFunction"), "not a mapping of names to values"},
		{"the event bus dropped from the event function is missing",
			removeAt("Resources.SandboxRefreshEventsFunction." + vars + ".EVENT_BUS_NAME"), env("SandboxRefreshEventsFunction"), "missing: the code reads [EVENT_BUS_NAME]"},
		{"an event bus given to the API function, which announces nothing, is unused",
			setTo("Resources.SandboxRefreshesFunction."+vars+".EVENT_BUS_NAME", "!Ref SandboxRefreshEventBus"), env("SandboxRefreshesFunction"), "unused: the template sets [EVENT_BUS_NAME]"},
		{"the state machine set only under a condition is caught",
			setTo("Resources.SandboxRefreshesFunction."+vars+".STATE_MACHINE_ARN", "!If [HasAlarmEmail, !Ref SandboxRefreshStateMachine, !Ref AWS::NoValue]"), env("SandboxRefreshesFunction"),
			"STATE_MACHINE_ARN is set only when HasAlarmEmail holds"},
		{"the schedule group dropped from the plans function is missing",
			removeAt("Resources.SandboxPlansFunction." + vars + ".SCHEDULE_GROUP"), env("SandboxPlansFunction"), "missing: the code reads [SCHEDULE_GROUP]"},
		{"the scheduler role set only under a condition is caught",
			setTo("Resources.SandboxPlansFunction."+vars+".SCHEDULER_ROLE_ARN", "!If [HasAlarmEmail, !GetAtt SandboxRefreshSchedulerRole.Arn, !Ref AWS::NoValue]"), env("SandboxPlansFunction"),
			"SCHEDULER_ROLE_ARN is set only when HasAlarmEmail holds"},
		{"a variable the steps function does not read is unused",
			setTo("Resources.PipelineStepsFunction.Properties.Environment", "{Variables: {TABLE_NAME: !Ref TokenTable, STACK_NAME: !Ref AWS::StackName, EVENT_BUS_NAME: !Ref SandboxRefreshEventBus}}"), env("PipelineStepsFunction"), "unused: the template sets [EVENT_BUS_NAME]"},
	})
	t.Run("code that starts reading a new variable fails until the template sets it", func(t *testing.T) {
		tpl := loadTemplate(t)
		if got := withRead("ListTokensFunction", "PAGE_SIZE")(tpl); !hasProblem(got, "missing: the code reads [PAGE_SIZE]") {
			t.Errorf("got problems %q, want PAGE_SIZE missing", got)
		}
		set(t, tpl, "Resources.ListTokensFunction."+vars+".PAGE_SIZE", "50")
		if got := withRead("ListTokensFunction", "PAGE_SIZE")(tpl); len(got) > 0 {
			t.Errorf("got problems %q once the template sets PAGE_SIZE, want none", got)
		}
	})
}

func TestLeastPrivilegeChecksCatchMutations(t *testing.T) {
	grants := func(fnID string) func(*cfnTemplate) []string {
		return func(tpl *cfnTemplate) []string { return checkFunctionGrants(tpl, fnID, iamAllowlist[fnID]) }
	}
	keys := func(tpl *cfnTemplate) []string { return checkKeyPolicies(tpl, keyAdminActions, keyAllowlist) }
	const tableStatement = "Properties.Policies.1.PolicyDocument.Statement.0"
	// Statement 0 administers the key; 1 and 2 are !If [<condition>,
	// <statement>, !Ref AWS::NoValue]: 1.1 is the Sign statement, 2.1 the
	// GetPublicKey one.
	const keyStatements = "Resources.SigningKeyA.Properties.KeyPolicy.Statement"
	signOnBothKeys := func(t *testing.T, tpl *cfnTemplate) {
		for _, key := range []string{"SigningKeyA", "SigningKeyB"} {
			set(t, tpl, "Resources."+key+".Properties.KeyPolicy.Statement.1", signStatement)
		}
	}
	runMutations(t, []mutation{
		{"an extra table action is caught",
			setTo("Resources.ListTokensFunctionRole."+tableStatement+".Action", "[dynamodb:Query, dynamodb:Scan]"), grants("ListTokensFunction"),
			"ListTokensFunction is granted dynamodb:Scan on !GetAtt TokenTable.Arn, which its allowlist does not have"},
		{"a table action on every resource is caught by the allowlist",
			setTo("Resources.AuthorizerFunctionRole."+tableStatement+".Resource", `"*"`), grants("AuthorizerFunction"),
			"AuthorizerFunction is granted dynamodb:GetItem on *"},
		{"a table action on every resource is caught in any statement",
			setTo("Resources.AuthorizerFunctionRole."+tableStatement+".Resource", `"*"`), checkPolicyStatements,
			"allows dynamodb:GetItem on *, want only on !GetAtt TokenTable.Arn"},
		{"a service wildcard is caught",
			setTo("Resources.DeleteTokenFunctionRole."+tableStatement+".Action", "dynamodb:*"), checkPolicyStatements, "allows dynamodb:*: no wildcard actions"},
		{"a wildcard in a key policy is caught",
			setTo(keyStatements+".0.Action", `"kms:*"`), checkPolicyStatements, "allows kms:*: no wildcard actions"},
		{"a grant by NotAction is caught",
			setTo("Resources.WhoAmIFunctionRole.Properties.Policies.0.PolicyDocument.Statement.1", "{Effect: Allow, NotAction: iam:*, Resource: '*'}"), checkPolicyStatements, "NotAction"},
		{"a lost permission the code needs is caught",
			setTo("Resources.DeleteTokenFunctionRole."+tableStatement+".Action", "dynamodb:GetItem"), grants("DeleteTokenFunction"),
			"DeleteTokenFunction lacks dynamodb:DeleteItem on !GetAtt TokenTable.Arn"},
		{"logs on every log group are caught",
			setTo("Resources.WhoAmIFunctionRole.Properties.Policies.0.PolicyDocument.Statement.0.Resource", `"*"`), grants("WhoAmIFunction"),
			"WhoAmIFunction is granted logs:PutLogEvents on *"},
		{"a policy resource attached to a role is read",
			setTo("Resources.WhoAmIExtraPolicy", `
Type: AWS::IAM::Policy
Properties:
  PolicyName: extra
  Roles: [!Ref WhoAmIFunctionRole]
  PolicyDocument: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: dynamodb:Query, Resource: !GetAtt TokenTable.Arn}]}
`), grants("WhoAmIFunction"), "WhoAmIFunction is granted dynamodb:Query"},
		{"a managed policy on a role is caught",
			setTo("Resources.ListTokensFunctionRole.Properties.ManagedPolicyArns", "[arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess]"), grants("ListTokensFunction"), "ManagedPolicyArns"},
		{"a SAM policy template on a function is caught",
			setTo("Resources.ListTokensFunction.Properties.Policies", "[{DynamoDBReadPolicy: {TableName: !Ref TokenTable}}]"), grants("ListTokensFunction"), "SAM policy template"},
		{"an inline SAM policy on a function is read",
			setTo("Resources.WhoAmIFunction.Properties.Policies", "[{Statement: [{Effect: Allow, Action: kms:Sign, Resource: !GetAtt SigningKeyA.Arn}]}]"), grants("WhoAmIFunction"),
			"WhoAmIFunction is granted kms:Sign on !GetAtt SigningKeyA.Arn"},
		{"a function without its own role is caught",
			removeAt("Resources.WhoAmIFunction.Properties.Role"), grants("WhoAmIFunction"), "WhoAmIFunction has no Role"},
		{"a role shared by two functions is caught",
			setTo("Resources.ListTokensFunction.Properties.Role", "!GetAtt DeleteTokenFunctionRole.Arn"), grants("DeleteTokenFunction"), "shares role DeleteTokenFunctionRole"},
		{"a role another principal may assume is caught",
			setTo("Resources.CreateTokenFunctionRole.Properties.AssumeRolePolicyDocument.Statement.0.Principal", `{AWS: "*"}`), grants("CreateTokenFunction"), "may be assumed by"},
		{"the account root allowed to sign is caught",
			appendAt(keyStatements+".0.Action", "kms:Sign"), keys, "lets account root kms:Sign"},
		{"the account root allowed to decrypt is caught",
			appendAt(keyStatements+".0.Action", "kms:Decrypt"), keys, "lets account root kms:Decrypt"},
		{"the authorizer allowed to sign is caught",
			setTo(keyStatements+".2.1.Action", "[kms:GetPublicKey, kms:Sign]"), keys, "lets AuthorizerFunction kms:Sign"},
		{"another function in the key policy is caught",
			appendAt(keyStatements, "{Effect: Allow, Principal: {AWS: !GetAtt ListTokensFunctionRole.Arn}, Action: kms:Sign, Resource: '*'}"), keys, "lets ListTokensFunction kms:Sign"},
		{"a principal that is no function's role is caught",
			setTo(keyStatements+".1.1.Principal", `{AWS: "*"}`), keys, "principal * is neither the account root nor a function's role"},
		{"a key policy that stops the create function signing is caught",
			removeAt(keyStatements + ".1"), keys, "SigningKeyA: the key policy does not let CreateTokenFunction kms:Sign (when " + signCondition + "), which the allowlist has (with ActiveSigningKey=A"},
		{"a wildcard in a conditional key policy statement is caught",
			setTo(keyStatements+".1.1.Action", `"kms:*"`), checkPolicyStatements, "statement 1 (if SigningKeyAActive) allows kms:*"},
		{"a NotPrincipal in a conditional key policy statement is caught",
			setTo(keyStatements+".2.1.NotPrincipal", `{AWS: "*"}`), checkPolicyStatements, "statement 2 (if SigningKeyATrusted) uses NotAction, NotResource or NotPrincipal"},
		{"an unconditional Sign on both keys is caught on the inactive one",
			signOnBothKeys, keys, "SigningKeyB: the key policy lets CreateTokenFunction kms:Sign (when " + signCondition + "), which the allowlist does not (only on the keys CreateTokenFunction's SIGNING_KEY_ID names) (with ActiveSigningKey=A, TrustInactiveSigningKey=true; with ActiveSigningKey=A, TrustInactiveSigningKey=false)"},
		{"an unconditional Sign on both keys is caught on A when B is active",
			signOnBothKeys, keys, "SigningKeyA: the key policy lets CreateTokenFunction kms:Sign (when " + signCondition + "), which the allowlist does not (only on the keys CreateTokenFunction's SIGNING_KEY_ID names) (with ActiveSigningKey=B"},
		{"a Sign grant under a condition other than its key being active is caught",
			setTo("Resources.SigningKeyB.Properties.KeyPolicy.Statement.1.0", "SigningKeyBTrusted"), keys,
			"SigningKeyB: the key policy lets CreateTokenFunction kms:Sign (when " + signCondition + "), which the allowlist does not (only on the keys CreateTokenFunction's SIGNING_KEY_ID names) (with ActiveSigningKey=A, TrustInactiveSigningKey=true)"},
		{"a Sign grant without its algorithm condition is caught",
			removeAt(keyStatements + ".1.1.Condition"), keys, "SigningKeyA: the key policy lets CreateTokenFunction kms:Sign, which the allowlist does not"},
		{"a Sign grant for any algorithm is caught",
			removeAt(keyStatements + ".1.1.Condition.StringEquals.kms:SigningAlgorithm"), keys, "lets CreateTokenFunction kms:Sign (when StringEquals kms:MessageType=DIGEST), which the allowlist does not"},
		{"the authorizer reading an untrusted inactive key is caught",
			setTo("Resources.SigningKeyB.Properties.KeyPolicy.Statement.2", getPublicKeyStatement), keys,
			"SigningKeyB: the key policy lets AuthorizerFunction kms:GetPublicKey, which the allowlist does not (only on the keys AuthorizerFunction's TRUSTED_KEY_IDS names) (with ActiveSigningKey=A, TrustInactiveSigningKey=false)"},
		{"a trusted inactive key the authorizer cannot read is caught",
			setTo("Resources.SigningKeyB.Properties.KeyPolicy.Statement.2.0", "SigningKeyBActive"), keys,
			"SigningKeyB: the key policy does not let AuthorizerFunction kms:GetPublicKey, which the allowlist has (with ActiveSigningKey=A, TrustInactiveSigningKey=true)"},
		{"the create function signing with the inactive key is caught",
			setTo("Resources.CreateTokenFunction.Properties.Environment.Variables.SIGNING_KEY_ID", "!GetAtt SigningKeyA.Arn"), keys,
			"SigningKeyB: the key policy lets CreateTokenFunction kms:Sign"},
		{"the authorizer trusting an inactive key the parameters do not trust is caught",
			setTo("Resources.AuthorizerFunction.Properties.Environment.Variables.TRUSTED_KEY_IDS", "!Sub ${SigningKeyA.Arn},${SigningKeyB.Arn}"), keys,
			"SigningKeyB: the key policy does not let AuthorizerFunction kms:GetPublicKey, which the allowlist has (with ActiveSigningKey=A, TrustInactiveSigningKey=false)"},
		{"trusted keys named in a form the check cannot read are caught",
			setTo("Resources.AuthorizerFunction.Properties.Environment.Variables.TRUSTED_KEY_IDS", "!Sub ${SigningKeyA}"), keys,
			"which this check cannot read as KMS key ARNs"},
		{"a key policy condition on a parameter without AllowedValues is caught",
			setTo("Conditions.SigningKeyAActive", "!Equals [!Ref StageName, v1]"), keys,
			"condition SigningKeyAActive depends on StageName, which has no AllowedValues"},
	})
}

func TestPipelineLeastPrivilegeChecksCatchMutations(t *testing.T) {
	grants := func(fnID string) func(*cfnTemplate) []string {
		return func(tpl *cfnTemplate) []string { return checkFunctionGrants(tpl, fnID, iamAllowlist[fnID]) }
	}
	const sm = "SandboxRefreshStateMachine"
	machine := func(tpl *cfnTemplate) []string { return checkStateMachineGrants(tpl, sm, stateMachineAllowlist[sm]) }
	const (
		secrets     = "Resources.PipelineStepsFunctionRole.Properties.Policies.1.PolicyDocument.Statement.0"
		start       = "Resources.SandboxRefreshesFunctionRole.Properties.Policies.2.PolicyDocument.Statement.0"
		executions  = "Resources.SandboxRefreshesFunctionRole.Properties.Policies.2.PolicyDocument.Statement.1"
		publish     = "Resources.SandboxRefreshEventsFunctionRole.Properties.Policies.3.PolicyDocument.Statement.0"
		followed    = "Resources.SandboxRefreshEventsFunctionRole.Properties.Policies.2.PolicyDocument.Statement.1"
		invoke      = "Resources.SandboxRefreshStateMachineRole.Properties.Policies.0.PolicyDocument.Statement.0"
		logDelivery = "Resources.SandboxRefreshStateMachineRole.Properties.Policies.1.PolicyDocument.Statement.0"
		allSecrets  = "!Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*"
		// The rotation function's secrets; the pipeline-secrets function's
		// grant to invoke it.
		rotationSecrets = "Resources.DcsTokenRotationFunctionRole.Properties.Policies.1.PolicyDocument.Statement.0"
		invokeRotation  = "Resources.PipelineSecretsFunctionRole.Properties.Policies.2.PolicyDocument.Statement.1"
	)
	runMutations(t, []mutation{
		{"every secret of the account is caught by the allowlist",
			setTo(secrets+".Resource", allSecrets), grants("PipelineStepsFunction"),
			"PipelineStepsFunction is granted secretsmanager:GetSecretValue on " + allSecrets + ", which its allowlist does not have"},
		{"every secret of the account is caught in any statement",
			setTo(secrets+".Resource", allSecrets), checkPolicyStatements,
			"allows secretsmanager:GetSecretValue on " + allSecrets + ", want only on " + tenantSecretsARN},
		{"the rotation function granted the Salesforce keys too is caught by its allowlist",
			setTo(rotationSecrets+".Resource", tenantSecretsARN), grants("DcsTokenRotationFunction"),
			"DcsTokenRotationFunction is granted secretsmanager:GetSecretValue on " + tenantSecretsARN + ", which its allowlist does not have"},
		{"another narrower name of secrets is caught in any statement",
			setTo(rotationSecrets+".Resource", "!Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:dcs-access/*/salesforce-key-??????"), checkPolicyStatements,
			"allows secretsmanager:GetSecretValue on !Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:dcs-access/*/salesforce-key-??????, want only on " + tenantSecretsARN},
		{"a pipeline-secrets function that may invoke any function is caught",
			setTo(invokeRotation+".Resource", `"*"`), grants("PipelineSecretsFunction"), "PipelineSecretsFunction is granted lambda:InvokeFunction on *"},
		{"secrets on every resource are caught in any statement",
			setTo(secrets+".Resource", `"*"`), checkPolicyStatements, "allows secretsmanager:GetSecretValue on *: only actions AWS authorizes on no narrower resource"},
		{"a secret read by another function is caught",
			appendAt("Resources.SandboxRefreshesFunctionRole.Properties.Policies.1.PolicyDocument.Statement", "{Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: '"+tenantSecretsARN[len("!Sub "):]+"'}"),
			grants("SandboxRefreshesFunction"), "SandboxRefreshesFunction is granted secretsmanager:GetSecretValue"},
		{"an extra states action is caught",
			setTo(executions+".Action", "[states:DescribeExecution, states:GetExecutionHistory, states:RedriveExecution, states:StopExecution]"), grants("SandboxRefreshesFunction"),
			"SandboxRefreshesFunction is granted states:StopExecution on " + executionsARN + ", which its allowlist does not have"},
		{"starting any state machine is caught by the allowlist",
			setTo(start+".Resource", `"*"`), grants("SandboxRefreshesFunction"), "SandboxRefreshesFunction is granted states:StartExecution on *"},
		{"starting any state machine is caught in any statement",
			setTo(start+".Resource", `"*"`), checkPolicyStatements, "allows states:StartExecution on *: only actions AWS authorizes on no narrower resource"},
		{"a lost redrive is caught",
			setTo(executions+".Action", "[states:DescribeExecution, states:GetExecutionHistory]"), grants("SandboxRefreshesFunction"),
			"SandboxRefreshesFunction lacks states:RedriveExecution on " + executionsARN},
		{"publishing on the default bus is caught",
			setTo(publish+".Resource", "!Sub arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"), grants("SandboxRefreshEventsFunction"),
			"SandboxRefreshEventsFunction is granted events:PutEvents on !Sub arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"},
		{"publishing from the API function is caught",
			appendAt("Resources.SandboxRefreshesFunctionRole.Properties.Policies",
				"{PolicyName: event-bus, PolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Action: events:PutEvents, Resource: !GetAtt SandboxRefreshEventBus.Arn}]}}"),
			grants("SandboxRefreshesFunction"), "SandboxRefreshesFunction is granted events:PutEvents on !GetAtt SandboxRefreshEventBus.Arn, which its allowlist does not have"},
		{"a redrive granted to the event function is caught",
			setTo(followed+".Action", "[states:DescribeExecution, states:GetExecutionHistory, states:RedriveExecution]"), grants("SandboxRefreshEventsFunction"),
			"SandboxRefreshEventsFunction is granted states:RedriveExecution on " + executionsARN + ", which its allowlist does not have"},
		{"a state machine invoking any function is caught",
			setTo(invoke+".Resource", `"*"`), machine, "SandboxRefreshStateMachine is granted lambda:InvokeFunction on *"},
		{"a state machine putting events is caught (the definition sends none)",
			appendAt("Resources.SandboxRefreshStateMachineRole.Properties.Policies",
				"{PolicyName: events, PolicyDocument: {Version: '2012-10-17', Statement: [{Effect: Allow, Action: events:PutEvents, Resource: !GetAtt SandboxRefreshEventBus.Arn}]}}"),
			machine, "SandboxRefreshStateMachine is granted events:PutEvents on !GetAtt SandboxRefreshEventBus.Arn"},
		{"a state machine without its log delivery is caught",
			removeAt(logDelivery), machine, "SandboxRefreshStateMachine lacks logs:CreateLogDelivery on *"},
		{"a state machine writing any log group is caught",
			appendAt(logDelivery+".Action", "logs:PutLogEvents"), checkPolicyStatements, "allows logs:PutLogEvents on *: only actions AWS authorizes on no narrower resource"},
		{"a state machine role Lambda may assume is caught",
			setTo("Resources.SandboxRefreshStateMachineRole.Properties.AssumeRolePolicyDocument.Statement.0.Principal", "{Service: lambda.amazonaws.com}"), machine,
			"SandboxRefreshStateMachineRole may be assumed by"},
		{"a function role Step Functions may assume is caught",
			setTo("Resources.PipelineStepsFunctionRole.Properties.AssumeRolePolicyDocument.Statement.0.Principal", "{Service: states.amazonaws.com}"), grants("PipelineStepsFunction"),
			"PipelineStepsFunctionRole may be assumed by"},
		{"a state machine running as a function's role is caught",
			setTo("Resources.SandboxRefreshStateMachine.Properties.Role", "!GetAtt PipelineStepsFunctionRole.Arn"), grants("PipelineStepsFunction"),
			"PipelineStepsFunction shares role PipelineStepsFunctionRole with SandboxRefreshStateMachine"},
		{"log delivery on a function's role is caught",
			appendAt("Resources.WhoAmIFunctionRole.Properties.Policies.0.PolicyDocument.Statement", "{Effect: Allow, Action: logs:CreateLogDelivery, Resource: '*'}"), grants("WhoAmIFunction"),
			"WhoAmIFunction is granted logs:CreateLogDelivery on *"},
		{"a SAM policy template on a state machine is caught",
			setTo("Resources.SandboxRefreshStateMachine.Properties.Policies", "[{LambdaInvokePolicy: {FunctionName: !Ref PipelineStepsFunction}}]"), machine, "SAM policy template"},
	})
}

func TestScheduleChecksCatchMutations(t *testing.T) {
	grants := func(fnID string) func(*cfnTemplate) []string {
		return func(tpl *cfnTemplate) []string { return checkFunctionGrants(tpl, fnID, iamAllowlist[fnID]) }
	}
	const role = "SandboxRefreshSchedulerRole"
	schedulerRole := func(tpl *cfnTemplate) []string { return checkServiceRole(tpl, role, roleAllowlist[role]) }
	wiring := func(tpl *cfnTemplate) []string {
		return checkSchedules(tpl, schedulesFunction, iamAllowlist[schedulesFunction], roleAllowlist)
	}
	accounted := func(tpl *cfnTemplate) []string { return checkRolesAccounted(tpl, roleAllowlist) }
	otherBus := func(t *testing.T, tpl *cfnTemplate) {
		set(t, tpl, "Resources.OtherBus", "{Type: AWS::Events::EventBus, Properties: {Name: other}}")
		set(t, tpl, "Resources.SandboxPlansFunction.Properties.Environment.Variables.EVENT_BUS_ARN", "!GetAtt OtherBus.Arn")
	}
	const (
		manage      = "Resources.SandboxPlansFunctionRole.Properties.Policies.2.PolicyDocument.Statement.0"
		pass        = "Resources.SandboxPlansFunctionRole.Properties.Policies.2.PolicyDocument.Statement.1"
		trustStmt   = "Resources." + role + ".Properties.AssumeRolePolicyDocument.Statement.0"
		put         = "Resources." + role + ".Properties.Policies.0.PolicyDocument.Statement.0"
		vars        = "Resources.SandboxPlansFunction.Properties.Environment.Variables"
		requested   = "Resources.SandboxRefreshEventsFunction.Properties.Events.RefreshRequested.Properties"
		anyGroup    = "!Sub arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/*/*"
		roleARN     = "!GetAtt " + role + ".Arn"
		defaultBus  = "!Sub arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"
		sourceTrust = "StringEquals aws:SourceAccount=!Ref AWS::AccountId"
	)
	runMutations(t, []mutation{
		{"schedules of every group are caught by the allowlist",
			setTo(manage+".Resource", anyGroup), grants("SandboxPlansFunction"),
			"SandboxPlansFunction is granted scheduler:CreateSchedule on " + anyGroup + ", which its allowlist does not have"},
		{"schedules of every group are caught in any statement",
			setTo(manage+".Resource", anyGroup), checkPolicyStatements,
			"allows scheduler:DeleteSchedule on " + anyGroup + ", want only on " + schedulesARN},
		{"schedules on every resource are caught in any statement",
			setTo(manage+".Resource", `"*"`), checkPolicyStatements, "allows scheduler:UpdateSchedule on *: only actions AWS authorizes on no narrower resource"},
		{"an extra Scheduler action is caught",
			appendAt(manage+".Action", "scheduler:DeleteScheduleGroup"), grants("SandboxPlansFunction"),
			"SandboxPlansFunction is granted scheduler:DeleteScheduleGroup on " + schedulesARN},
		{"a lost Scheduler action is caught",
			setTo(manage+".Action", "[scheduler:CreateSchedule, scheduler:DeleteSchedule]"), grants("SandboxPlansFunction"),
			"SandboxPlansFunction lacks scheduler:UpdateSchedule on " + schedulesARN},
		{"PassRole without its condition is caught by the allowlist",
			removeAt(pass + ".Condition"), grants("SandboxPlansFunction"),
			"SandboxPlansFunction is granted iam:PassRole on " + roleARN + ", which its allowlist does not have"},
		{"PassRole without its condition is caught in any statement",
			removeAt(pass + ".Condition"), checkPolicyStatements, "allows iam:PassRole without a Condition StringEquals iam:PassedToService"},
		{"PassRole to any service is caught",
			setTo(pass+".Condition", `{StringLike: {iam:PassedToService: "*"}}`), grants("SandboxPlansFunction"),
			"SandboxPlansFunction is granted iam:PassRole on " + roleARN + " (when StringLike iam:PassedToService=*)"},
		{"PassRole to another service is caught",
			setTo(pass+".Condition.StringEquals.iam:PassedToService", "lambda.amazonaws.com"), grants("SandboxPlansFunction"),
			"SandboxPlansFunction lacks iam:PassRole on " + roleARN + " (when " + passToScheduler + ")"},
		{"PassRole on every role is caught in any statement",
			setTo(pass+".Resource", `"*"`), checkPolicyStatements, "allows iam:PassRole on *"},
		{"PassRole on a function's role is caught",
			setTo(pass+".Resource", "!GetAtt PipelineStepsFunctionRole.Arn"), grants("SandboxPlansFunction"),
			"SandboxPlansFunction is granted iam:PassRole on !GetAtt PipelineStepsFunctionRole.Arn"},
		{"another function passing the scheduler role is caught",
			appendAt("Resources.WhoAmIFunctionRole.Properties.Policies.0.PolicyDocument.Statement",
				"{Effect: Allow, Action: iam:PassRole, Resource: "+roleARN+", Condition: {StringEquals: {iam:PassedToService: scheduler.amazonaws.com}}}"),
			grants("WhoAmIFunction"), "WhoAmIFunction is granted iam:PassRole on " + roleARN},
		{"a scheduler role trusted without its account condition is caught",
			removeAt(trustStmt + ".Condition"), schedulerRole, `SandboxRefreshSchedulerRole trust policy's condition is "", want "` + sourceTrust + `"`},
		{"a scheduler role trusted for any account is caught",
			setTo(trustStmt+".Condition.StringEquals.aws:SourceAccount", `"*"`), schedulerRole, "SandboxRefreshSchedulerRole trust policy's condition is"},
		{"a scheduler role Lambda may assume is caught",
			setTo(trustStmt+".Principal", "{Service: lambda.amazonaws.com}"), schedulerRole, "SandboxRefreshSchedulerRole may be assumed by"},
		{"a scheduler role putting events on the default bus is caught",
			setTo(put+".Resource", defaultBus), schedulerRole, "SandboxRefreshSchedulerRole is granted events:PutEvents on " + defaultBus},
		{"a scheduler role putting events on every bus is caught",
			setTo(put+".Resource", `"*"`), checkPolicyStatements, "allows events:PutEvents on *"},
		{"a scheduler role invoking functions is caught",
			setTo(put+".Action", "[events:PutEvents, lambda:InvokeFunction]"), schedulerRole, "SandboxRefreshSchedulerRole is granted lambda:InvokeFunction on !GetAtt SandboxRefreshEventBus.Arn"},
		{"a managed policy on the scheduler role is caught",
			setTo("Resources."+role+".Properties.ManagedPolicyArns", "[arn:aws:iam::aws:policy/AmazonEventBridgeFullAccess]"), schedulerRole,
			"ManagedPolicyArns has arn:aws:iam::aws:policy/AmazonEventBridgeFullAccess"},
		{"another managed policy on the API Gateway logging role is caught",
			appendAt("Resources.ApiGatewayCloudWatchRole.Properties.ManagedPolicyArns", "arn:aws:iam::aws:policy/AdministratorAccess"),
			func(tpl *cfnTemplate) []string {
				return checkServiceRole(tpl, "ApiGatewayCloudWatchRole", roleAllowlist["ApiGatewayCloudWatchRole"])
			}, "ApiGatewayCloudWatchRole: ManagedPolicyArns has arn:aws:iam::aws:policy/AdministratorAccess"},
		{"a function running as the scheduler role is caught",
			setTo("Resources.WhoAmIFunction.Properties.Role", roleARN), schedulerRole, "WhoAmIFunction runs as SandboxRefreshSchedulerRole"},
		{"a role in no allowlist is caught",
			setTo("Resources.ExtraRole", "{Type: AWS::IAM::Role, Properties: {AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: []}}}"), accounted,
			"ExtraRole is a role no function or state machine runs as, and it is not in roleAllowlist"},
		{"schedules in a group outside the template are caught",
			setTo(vars+".SCHEDULE_GROUP", "default"), wiring, "SCHEDULE_GROUP is default, want !Ref of an AWS::Scheduler::ScheduleGroup"},
		{"schedules in a group the function may not touch are caught",
			func(t *testing.T, tpl *cfnTemplate) {
				set(t, tpl, "Resources.OtherGroup", "{Type: AWS::Scheduler::ScheduleGroup}")
				set(t, tpl, vars+".SCHEDULE_GROUP", "!Ref OtherGroup")
			}, wiring, "SandboxPlansFunction's allowlist lacks scheduler:CreateSchedule on !Sub arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${OtherGroup}/*"},
		{"schedules running as a function's role are caught",
			setTo(vars+".SCHEDULER_ROLE_ARN", "!GetAtt SandboxPlansFunctionRole.Arn"), wiring,
			"SCHEDULER_ROLE_ARN is !GetAtt SandboxPlansFunctionRole.Arn, want !GetAtt <role>.Arn of a role of roleAllowlist that only scheduler.amazonaws.com may assume"},
		{"schedules putting events on the default bus are caught",
			setTo(vars+".EVENT_BUS_ARN", defaultBus), wiring, "EVENT_BUS_ARN is " + defaultBus + ", want !GetAtt <AWS::Events::EventBus of the template>.Arn"},
		{"schedules putting events on a bus no rule listens on are caught",
			otherBus, wiring, `the schedules put their events on OtherBus (EVENT_BUS_ARN), but the rule for "Sandbox Refresh Requested" listens on !Ref SandboxRefreshEventBus`},
		{"schedules putting events on a bus the scheduler role may not put on are caught",
			otherBus, wiring, "SandboxRefreshSchedulerRole's allowlist lacks events:PutEvents on !GetAtt OtherBus.Arn"},
		{"a request rule only for other sources is caught",
			setTo(requested+".Pattern.source", "[dcs-access]"), wiring,
			`the rule for "Sandbox Refresh Requested" does not match the schedules' events (source dcs-access.schedule): its source is [dcs-access], without dcs-access.schedule`},
		{"a request rule filtering on what the check cannot evaluate is caught",
			setTo(requested+".Pattern.source", "[{prefix: dcs-access}]"), wiring, "which this check cannot evaluate"},
		{"the schedule group dropped from the plans function is caught",
			removeAt(vars + ".SCHEDULE_GROUP"), wiring, "SCHEDULE_GROUP is <unset>"},
	})
}

func TestEventRuleChecksCatchMutations(t *testing.T) {
	rules := func(tpl *cfnTemplate) []string { return checkEventRules(tpl, ruleTable, permissionTable) }
	const (
		requested          = "Resources.SandboxRefreshEventsFunction.Properties.Events.RefreshRequested.Properties"
		ended              = "Resources.SandboxRefreshEventsFunction.Properties.Events.RunEnded.Properties"
		dlqPolicy          = "Resources.SandboxRefreshEventsDeadLetterQueuePolicy.Properties.PolicyDocument.Statement.0"
		rotationPermission = "Resources.DcsTokenRotationPermission.Properties"
	)
	runMutations(t, []mutation{
		{"a request rule on the default bus is caught",
			removeAt(requested + ".EventBusName"), rules, `rule "Sandbox Refresh Requested" → SandboxRefreshEventsFunction is on bus default, want !Ref SandboxRefreshEventBus`},
		{"a request rule on a bus outside the template is caught",
			setTo(requested+".EventBusName", "someone-elses-bus"), rules, "EventBusName is someone-elses-bus, want !Ref of an AWS::Events::EventBus of the template"},
		{"a status rule any source can trigger is caught",
			removeAt(ended + ".Pattern.source"), rules, `rule "Step Functions Execution Status Change" → SandboxRefreshEventsFunction matches {detail: {stateMachineArn`},
		{"a status rule for every state machine is caught",
			removeAt(ended + ".Pattern.detail.stateMachineArn"), rules, `rule "Step Functions Execution Status Change" → SandboxRefreshEventsFunction matches {detail: {status`},
		{"a status rule for running executions too is caught",
			appendAt(ended+".Pattern.detail.status", "RUNNING"), rules, "RUNNING, SUCCEEDED"},
		{"a rule matching several detail-types is caught",
			appendAt(requested+".Pattern.detail-type", "Sandbox Refresh Forced"), rules, "RefreshRequested: the pattern's detail-type is [Sandbox Refresh Requested, Sandbox Refresh Forced], want exactly one"},
		{"a rule without a dead-letter queue is caught",
			removeAt(requested + ".DeadLetterConfig"), rules, "RefreshRequested: no dead-letter queue"},
		{"a second function on a rule's events is caught",
			setTo("Resources.WhoAmIFunction.Properties.Events.Requested",
				"{Type: EventBridgeRule, Properties: {EventBusName: !Ref SandboxRefreshEventBus, Pattern: {detail-type: [Sandbox Refresh Requested]}, DeadLetterConfig: {Type: SQS}}}"),
			rules, `a rule for "Sandbox Refresh Requested" is also WhoAmIFunction's`},
		{"a rule missing from the rule table is caught",
			setTo("Resources.WhoAmIFunction.Properties.Events.Hourly", "{Type: EventBridgeRule, Properties: {Pattern: {detail-type: [Scheduled Event]}, DeadLetterConfig: {Type: SQS}}}"),
			rules, `rule "Scheduled Event" → WhoAmIFunction is not in the rule table`},
		{"a rule the template lost is caught",
			removeAt("Resources.SandboxRefreshEventsFunction.Properties.Events.RunEnded"), rules,
			`rule "Step Functions Execution Status Change" → SandboxRefreshEventsFunction is in the rule table but not in the template`},
		{"another kind of event source is caught",
			setTo("Resources.WhoAmIFunction.Properties.Events.Queue", "{Type: SQS, Properties: {Queue: !GetAtt SandboxRefreshEventsDeadLetterQueue.Arn}}"),
			rules, "WhoAmIFunction event Queue is a SQS event, which no check reads"},
		{"a rule outside the functions' events is caught",
			setTo("Resources.RawRule", "{Type: AWS::Events::Rule, Properties: {EventPattern: {source: [x]}, Targets: [{Id: x, Arn: !GetAtt PipelineStepsFunction.Arn}]}}"),
			rules, "RawRule is a rule outside the functions' events"},
		{"a Lambda permission is caught",
			setTo("Resources.InvokeSteps", "{Type: AWS::Lambda::Permission, Properties: {Action: lambda:InvokeFunction, FunctionName: !Ref PipelineStepsFunction, Principal: '*'}}"),
			rules, "InvokeSteps (AWS::Lambda::Permission) lets something invoke a function"},
		{"the rotation permission without its source account is caught",
			removeAt(rotationPermission + ".SourceAccount"), rules, "DcsTokenRotationPermission: SourceAccount is <unset>, want !Ref AWS::AccountId"},
		{"the rotation permission for anyone is caught",
			setTo(rotationPermission+".Principal", `"*"`), rules, "DcsTokenRotationPermission: Principal is *, want secretsmanager.amazonaws.com"},
		{"the rotation permission on another function is caught",
			setTo(rotationPermission+".FunctionName", "!GetAtt PipelineStepsFunction.Arn"), rules, "DcsTokenRotationPermission: FunctionName is !GetAtt PipelineStepsFunction.Arn, want !GetAtt DcsTokenRotationFunction.Arn"},
		{"the rotation permission for every action is caught",
			setTo(rotationPermission+".Action", "lambda:*"), rules, "DcsTokenRotationPermission: Action is lambda:*, want lambda:InvokeFunction"},
		{"the rotation permission for another account's secrets is caught",
			setTo(rotationPermission+".SourceArn", "arn:aws:secretsmanager:us-east-1:999999999999:secret:x"), rules, "DcsTokenRotationPermission sets SourceArn"},
		{"the rotation permission gone from the template is caught",
			removeAt("Resources.DcsTokenRotationPermission"), rules, "DcsTokenRotationPermission is in the permission table but is no AWS::Lambda::Permission"},
		{"a bus policy is caught",
			setTo("Resources.OpenBus", "{Type: AWS::Events::EventBusPolicy, Properties: {EventBusName: !Ref SandboxRefreshEventBus, StatementId: all, Statement: {Effect: Allow, Principal: '*', Action: events:PutEvents, Resource: !GetAtt SandboxRefreshEventBus.Arn}}}"),
			rules, "OpenBus lets other principals put events on a bus"},
		{"a bus with a policy is caught",
			setTo("Resources.SandboxRefreshEventBus.Properties.Policy", "{Version: '2012-10-17', Statement: []}"), rules, "SandboxRefreshEventBus has a Policy"},
		{"a dead-letter queue any rule may fill is caught",
			removeAt(dlqPolicy + ".Condition"), rules, "Condition is <unset>, want only ArnEquals aws:SourceArn"},
		{"a dead-letter queue another rule may fill is caught",
			appendAt(dlqPolicy+".Condition.ArnEquals.aws:SourceArn", "!GetAtt OtherRule.Arn"), rules, "lets !GetAtt OtherRule.Arn send, which is not a rule of a function's events"},
		{"a dead-letter queue anyone may fill is caught",
			setTo(dlqPolicy+".Principal", `"*"`), rules, "lets * send, want only Service events.amazonaws.com"},
		{"a dead-letter queue policy allowing more than sending is caught",
			setTo(dlqPolicy+".Action", "[sqs:SendMessage, sqs:ReceiveMessage]"), rules, "allows [sqs:SendMessage, sqs:ReceiveMessage], want sqs:SendMessage"},
	})
}

func TestStateMachineChecksCatchMutations(t *testing.T) {
	root := repoRoot(t)
	machines := func(tpl *cfnTemplate) []string { return checkStateMachines(tpl, root) }
	const sm = "Resources.SandboxRefreshStateMachine.Properties"
	runMutations(t, []mutation{
		{"an Express state machine is caught",
			setTo(sm+".Type", "EXPRESS"), machines, "Type is EXPRESS, want STANDARD"},
		{"a substitution the definition does not use is caught",
			setTo(sm+".DefinitionSubstitutions.UnusedArn", "!GetAtt PipelineStepsFunction.Arn"), machines,
			"DefinitionSubstitutions sets UnusedArn, which statemachine/sandbox-refresh.asl.json does not use"},
		{"a placeholder left without a substitution is caught",
			removeAt(sm + ".DefinitionSubstitutions.PipelineStepsFunctionArn"), machines,
			"statemachine/sandbox-refresh.asl.json uses ${PipelineStepsFunctionArn}, which DefinitionSubstitutions does not set"},
		{"a function timeout shorter than its tasks' is caught",
			setTo("Resources.PipelineStepsFunction.Properties.Timeout", "60"), machines,
			"has TimeoutSeconds 300, but PipelineStepsFunction's Timeout is 60: Lambda would cut the step short"},
		{"the Globals timeout applies when the function sets none",
			removeAt("Resources.PipelineStepsFunction.Properties.Timeout"), machines, "but PipelineStepsFunction's Timeout is 10"},
		{"logging off is caught",
			setTo(sm+".Logging.Level", "OFF"), machines, "Logging.Level is OFF"},
		{"logs kept forever are caught",
			removeAt("Resources.SandboxRefreshStateMachineLogGroup.Properties.RetentionInDays"), machines, "keeps logs forever"},
		{"logs to a log group outside the template are caught",
			setTo(sm+".Logging.Destinations.0.CloudWatchLogsLogGroup.LogGroupArn", "arn:aws:logs:us-east-1:123456789012:log-group:x:*"), machines, "want !GetAtt <AWS::Logs::LogGroup of the template>.Arn"},
		{"tracing off is caught",
			setTo(sm+".Tracing.Enabled", "false"), machines, "Tracing.Enabled is false"},
		{"an inline definition is caught",
			setTo(sm+".Definition", "{StartAt: A, States: {A: {Type: Succeed}}}"), machines, "want the path of its definition file"},
		{"a state machine these checks cannot read is caught",
			setTo("Resources.RawMachine", "{Type: AWS::StepFunctions::StateMachine, Properties: {RoleArn: x, DefinitionString: '{}'}}"), machines,
			"RawMachine: define state machines as AWS::Serverless::StateMachine"},
	})
}

func TestStateMachineDefinitionCheck(t *testing.T) {
	root := t.TempDir()
	def := `{"StartAt": "A", "States": {
  "A": {"Type": "Task", "Resource": "${StepsArn}", "Next": "P"},
  "P": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "B", "States": {
    "B": {"Type": "Task", "Resource": "${StepsArn}", "TimeoutSeconds": 900, "End": true}}}]}}}`
	if err := os.WriteFile(filepath.Join(root, "def.asl.json"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := parseTemplate([]byte(`
Globals: {Function: {Timeout: 30}}
Resources:
  Steps: {Type: AWS::Serverless::Function, Properties: {Timeout: 300}}
  Logs: {Type: AWS::Logs::LogGroup, Properties: {RetentionInDays: 7}}
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: STANDARD
      DefinitionUri: def.asl.json
      DefinitionSubstitutions: {StepsArn: !GetAtt Steps.Arn}
      Logging: {Level: ERROR, Destinations: [{CloudWatchLogsLogGroup: {LogGroupArn: !GetAtt Logs.Arn}}]}
      Tracing: {Enabled: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	problems := checkStateMachines(tpl, root)
	for _, want := range []string{
		"Machine: Task A (Steps) has no TimeoutSeconds",
		"Machine: Task B (Steps) has TimeoutSeconds 900, but Steps's Timeout is 300",
	} {
		if !hasProblem(problems, want) {
			t.Errorf("got problems %q, want one containing %q", problems, want)
		}
	}
	if len(problems) != 2 {
		t.Errorf("got %d problems %q, want 2", len(problems), problems)
	}
}

func TestAlarmChecksCatchMutations(t *testing.T) {
	// manyMetrics is a metric-math alarm on the throttles of n functions,
	// the one alarm this template had for them all.
	manyMetrics := func(n int) func(*testing.T, *cfnTemplate) {
		return func(t *testing.T, tpl *cfnTemplate) {
			t.Helper()
			var ids, queries []string
			for i := range n {
				id := fmt.Sprintf("fn%d", i)
				ids = append(ids, id)
				queries = append(queries, "{Id: "+id+", ReturnData: false, MetricStat: {Metric: {Namespace: AWS/Lambda, MetricName: Throttles, "+
					"Dimensions: [{Name: FunctionName, Value: !Ref WhoAmIFunction}]}, Period: 300, Stat: Sum}}")
			}
			queries = append(queries, "{Id: all, Expression: 'SUM(["+strings.Join(ids, ", ")+"])', ReturnData: true}")
			set(t, tpl, "Resources.AllThrottlesAlarm", "{Type: AWS::CloudWatch::Alarm, Properties: {Metrics: ["+strings.Join(queries, ", ")+
				"], EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: GreaterThanOrEqualToThreshold}}")
		}
	}
	manyExpressions := func(t *testing.T, tpl *cfnTemplate) {
		t.Helper()
		for i := range maxAlarmExpressions {
			appendTo(t, tpl, "Resources.SandboxRefreshFailuresAlarm.Properties.Metrics", fmt.Sprintf("{Id: e%d, Expression: 'failed * %d', ReturnData: false}", i, i))
		}
	}
	runMutations(t, []mutation{
		{"the extra masking executions alarm dropped is caught",
			removeAt("Resources.ExtraMaskingExecutionsAlarm"), checkExtraMaskingAlarm, "no alarm ExtraMaskingExecutionsAlarm"},
		{"the extra masking executions alarm on another metric is caught",
			setTo("Resources.ExtraMaskingExecutionsAlarm.Properties.MetricName", "UnmaskedSeconds"), checkExtraMaskingAlarm, "MetricName is UnmaskedSeconds"},
		{"a function's throttles alarm on another function is caught",
			setTo("Resources.PipelineStepsThrottlesAlarm.Properties.Dimensions.0.Value", "!Ref WhoAmIFunction"), checkAlarms,
			"PipelineStepsFunction: no alarm on its throttles"},
		{"a function's throttles alarm dropped is caught",
			removeAt("Resources.SandboxPlansThrottlesAlarm"), checkAlarms, "SandboxPlansFunction: no alarm on its throttles"},
		{"a new function without a throttles alarm is caught",
			setTo("Resources.ExtraFunction", "{Type: AWS::Serverless::Function, Properties: {CodeUri: .}}"), checkAlarms, "ExtraFunction: no alarm on its throttles"},
		{"a new function without its own throttles alarm is caught, even when another alarm covers it",
			func(t *testing.T, tpl *cfnTemplate) {
				set(t, tpl, "Resources.ExtraFunction", "{Type: AWS::Serverless::Function, Properties: {CodeUri: .}}")
				set(t, tpl, "Resources.WhoAmIThrottlesAlarm.Properties.Dimensions.0.Value", "!Ref ExtraFunction")
			}, checkThrottleAlarms, "ExtraFunction: no alarm ExtraThrottlesAlarm on its throttles"},
		{"a throttles alarm unlike the others is caught",
			setTo("Resources.AuthorizerThrottlesAlarm.Properties.Threshold", "5"), checkThrottleAlarms, "AuthorizerThrottlesAlarm: Threshold is 5, want 1"},
		{"a throttles alarm that notifies no one is caught",
			removeAt("Resources.ConsoleThrottlesAlarm.Properties.AlarmActions"), checkThrottleAlarms, "ConsoleThrottlesAlarm: AlarmActions is <unset>, want [!Ref AlarmTopic]"},
		{"a throttles alarm with settings of its own is caught",
			setTo("Resources.ConsoleThrottlesAlarm.Properties.DatapointsToAlarm", "1"), checkThrottleAlarms, "ConsoleThrottlesAlarm: sets DatapointsToAlarm"},
		{"a throttles alarm on another function's metric is caught by name",
			setTo("Resources.ListTokensThrottlesAlarm.Properties.Dimensions.0.Value", "!Ref DeleteTokenFunction"), checkThrottleAlarms,
			"ListTokensThrottlesAlarm: Dimensions is [FunctionName=!Ref DeleteTokenFunction], want [FunctionName=!Ref ListTokensFunction]"},
		{"an alarm on the throttles of 11 functions, one over CloudWatch's limit, is caught",
			manyMetrics(11), checkAlarmLimits, "AllThrottlesAlarm queries 11 metrics; CloudWatch allows at most 10"},
		{"an alarm with 11 expressions is caught",
			manyExpressions, checkAlarmLimits, "SandboxRefreshFailuresAlarm has 11 expressions; CloudWatch allows at most 10"},
		{"a state machine's timeouts left out of its alarm are caught",
			setTo("Resources.SandboxRefreshFailuresAlarm.Properties.Metrics.2.Expression", "SUM([failed])"), checkAlarms,
			"SandboxRefreshStateMachine: no alarm on its ExecutionsTimedOut"},
		{"a state machine without a failures alarm is caught",
			removeAt("Resources.SandboxRefreshFailuresAlarm"), checkAlarms, "SandboxRefreshStateMachine: no alarm on its ExecutionsFailed"},
	})
	t.Run("an alarm on the throttles of 10 functions is within the limit", func(t *testing.T) {
		tpl := loadTemplate(t)
		manyMetrics(10)(t, tpl)
		if got := checkAlarmLimits(tpl); len(got) != 0 {
			t.Errorf("got problems %q, want none", got)
		}
	})
}

// signStatement and getPublicKeyStatement are the key policy statements of
// the template, unconditional.
const (
	signStatement = `{Sid: OnlyCreateTokenFunctionSigns, Effect: Allow, Principal: {AWS: !GetAtt CreateTokenFunctionRole.Arn}, Action: kms:Sign, Resource: "*",
  Condition: {StringEquals: {kms:SigningAlgorithm: ECDSA_SHA_256, kms:MessageType: DIGEST}}}`
	getPublicKeyStatement = `{Sid: OnlyVerifiersReadPublicKey, Effect: Allow, Principal: {AWS: [!GetAtt AuthorizerFunctionRole.Arn, !GetAtt IntrospectTokenFunctionRole.Arn, !GetAtt PublicKeysFunctionRole.Arn, !GetAtt RevokeLeakedTokensFunctionRole.Arn]}, Action: kms:GetPublicKey, Resource: "*"}`
)

func TestSigningKeySlotChecksCatchMutations(t *testing.T) {
	const env = "Properties.Environment.Variables"
	runMutations(t, []mutation{
		{"an authorizer that does not trust the key new tokens are signed with is caught",
			setTo("Resources.AuthorizerFunction."+env+".TRUSTED_KEY_IDS", "!If [InactiveSigningKeyTrusted, !Sub '${SigningKeyA.Arn},${SigningKeyB.Arn}', !GetAtt SigningKeyA.Arn]"), checkSigningKeySlots,
			"AuthorizerFunction's TRUSTED_KEY_IDS names [SigningKeyA], not SigningKeyB, the key new tokens are signed with (with ActiveSigningKey=B, TrustInactiveSigningKey=false)"},
		{"a create function signing with both keys is caught",
			setTo("Resources.CreateTokenFunction."+env+".SIGNING_KEY_ID", "!Sub ${SigningKeyA.Arn},${SigningKeyB.Arn}"), checkSigningKeySlots,
			"SIGNING_KEY_ID names [SigningKeyA SigningKeyB], want one key"},
		{"an alias left on slot A is caught",
			setTo("Resources.SigningKeyAlias.Properties.TargetKeyId", "!Ref SigningKeyA"), checkSigningKeySlots,
			"SigningKeyAlias targets !Ref SigningKeyA, want the active key SigningKeyB (with ActiveSigningKey=B"},
		{"an ActiveSigningKeyArn output left on slot A is caught",
			setTo("Outputs.ActiveSigningKeyArn.Value", "!GetAtt SigningKeyA.Arn"), checkSigningKeySlots,
			"output ActiveSigningKeyArn is !GetAtt SigningKeyA.Arn, want !GetAtt SigningKeyB.Arn"},
		{"leak revocation trusting a key the authorizer does not is caught",
			setTo("Resources.RevokeLeakedTokensFunction."+env+".TRUSTED_KEY_IDS", "!Sub ${SigningKeyA.Arn},${SigningKeyB.Arn}"), verifiersAgree,
			"RevokeLeakedTokensFunction: TRUSTED_KEY_IDS is !Sub ${SigningKeyA.Arn},${SigningKeyB.Arn}, want AuthorizerFunction's"},
		{"leak revocation with another issuer is caught",
			setTo("Resources.RevokeLeakedTokensFunction."+env+".TOKEN_ISSUER", "dcs-access"), verifiersAgree,
			"RevokeLeakedTokensFunction: TOKEN_ISSUER is dcs-access, want AuthorizerFunction's"},
	})
}

func verifiersAgree(tpl *cfnTemplate) []string {
	return checkVerifiersAgree(tpl, "AuthorizerFunction", "RevokeLeakedTokensFunction")
}

func TestAPIChecksCatchMutations(t *testing.T) {
	routes := func(tpl *cfnTemplate) []string { return checkRoutes(tpl, api.Routes()) }
	throttles := func(tpl *cfnTemplate) []string { return checkMethodThrottles(tpl, methodThrottles, api.Routes()) }
	const authorizer = "Resources.Api.Properties.Auth.Authorizers.BearerTokenAuthorizer"
	const whoamiEvent = "Resources.WhoAmIFunction.Properties.Events.WhoAmI.Properties"
	const leakEvent = "Resources.RevokeLeakedTokensFunction.Properties.Events.RevokeLeakedTokens.Properties"
	const leakThrottle = "Resources.Api.Properties.MethodSettings.1"
	runMutations(t, []mutation{
		{"authorizer caching left to its default is caught",
			removeAt(authorizer + ".Identity.ReauthorizeEvery"), checkAuthorizers, "ReauthorizeEvery is not set"},
		{"authorizer caching for 300 s is caught",
			setTo(authorizer+".Identity.ReauthorizeEvery", "300"), checkAuthorizers, "ReauthorizeEvery is 300, want 0"},
		{"a TOKEN authorizer, which cannot see a second Authorization header, is caught",
			setTo(authorizer+".FunctionPayloadType", "TOKEN"), checkAuthorizers, "FunctionPayloadType is TOKEN, want REQUEST"},
		{"an authorizer without the Authorization header as its identity source is caught",
			removeAt(authorizer + ".Identity.Headers"), checkAuthorizers, "Identity.Headers is <unset>, want [Authorization]"},
		{"an API without a default authorizer is caught",
			removeAt("Resources.Api.Properties.Auth.DefaultAuthorizer"), checkAuthorizers, `DefaultAuthorizer is "<unset>"`},
		{"an API without a Lambda authorizer is caught",
			removeAt(authorizer), checkAuthorizers, "no Lambda authorizer"},
		{"a caching API Gateway authorizer resource is caught",
			setTo("Resources.RawAuthorizer", "{Type: AWS::ApiGateway::Authorizer, Properties: {Type: TOKEN, RestApiId: !Ref Api}}"), checkAuthorizers,
			"RawAuthorizer: AuthorizerResultTtlInSeconds is <unset>, want 0"},
		{"a route that opts out of the authorizer is caught",
			setTo(whoamiEvent+".Auth", "{Authorizer: NONE}"), routes, "Auth.Authorizer is NONE"},
		{"a route whose row needs no authentication, put behind the authorizer, is caught",
			removeAt("Resources.ConsoleFunction.Properties.Events.ConsoleRoot.Properties.Auth"), routes,
			"route GET / needs no authentication (its row): Auth.Authorizer is <unset>, want NONE"},
		{"a route on SAM's implicit API is caught",
			removeAt(whoamiEvent + ".RestApiId"), routes, "RestApiId is <unset>, want !Ref Api"},
		{"a route missing from the route table is caught",
			setTo("Resources.WhoAmIFunction.Properties.Events.Health", "{Type: Api, Properties: {RestApiId: !Ref Api, Path: /health, Method: get}}"), routes,
			"route GET /health → WhoAmIFunction is not in the route table"},
		{"a route that changed method is caught",
			setTo(whoamiEvent+".Method", "POST"), routes, "route GET /whoami → WhoAmIFunction is in the route table but not in the template"},
		{"a route served by another function is caught",
			setTo("Resources.ListTokensFunction.Properties.Events.ListTokens.Properties.Path", "/whoami"), routes, "route GET /whoami is also"},
		{"routes defined in an OpenAPI body are caught",
			setTo("Resources.Api.Properties.DefinitionBody", "{openapi: 3.0.1, paths: {}}"), routes, "DefinitionBody defines routes"},
		{"leak revocation behind the authorizer is caught (whoever found a token has no bearer)",
			removeAt(leakEvent + ".Auth"), routes, "route POST /api-tokens/revoke needs no authentication (its row): Auth.Authorizer is <unset>, want NONE"},
		{"leak revocation's throttle dropped is caught",
			removeAt(leakThrottle), throttles, "POST /api-tokens/revoke has no throttle of its own"},
		{"leak revocation's throttle at the stage's rate is caught",
			setTo(leakThrottle+".ThrottlingRateLimit", "!Ref ApiThrottleRateLimit"), throttles, "POST /api-tokens/revoke: throttle rate !Ref ApiThrottleRateLimit"},
		{"leak revocation's throttle at the stage's burst is caught",
			setTo(leakThrottle+".ThrottlingBurstLimit", "!Ref ApiThrottleBurstLimit"), throttles, "burst !Ref ApiThrottleBurstLimit, want"},
		{"a resource path written with plain slashes, which API Gateway applies to nothing, is caught",
			setTo(leakThrottle+".ResourcePath", "/api-tokens/revoke"), throttles, `ResourcePath "/api-tokens/revoke" is not a resource path with each / written ~1`},
		{"a throttle on another method of the path is caught",
			setTo(leakThrottle+".HttpMethod", "GET"), throttles, "GET /api-tokens/revoke is no route of the route table"},
		{"a throttle the table does not list is caught",
			appendAt("Resources.Api.Properties.MethodSettings", "{ResourcePath: /~1whoami, HttpMethod: GET, ThrottlingRateLimit: 1, ThrottlingBurstLimit: 1, DataTraceEnabled: false}"), throttles,
			"GET /whoami has its own throttle, which methodThrottles does not list"},
		{"request data traced into the logs is caught",
			setTo(leakThrottle+".DataTraceEnabled", "true"), throttles, "DataTraceEnabled is true, want false"},
		{"the stage's default throttle dropped is caught",
			removeAt("Resources.Api.Properties.MethodSettings.0"), throttles, "no default for every method"},
	})
}

func TestTableGlobalsAndBuildChecksCatchMutations(t *testing.T) {
	build := func(fnID, pkg string) func(*cfnTemplate) []string {
		return func(tpl *cfnTemplate) []string {
			fn, _ := tpl.resource(fnID)
			return checkBuildMetadata(fn, pkg)
		}
	}
	global := func(path, want string) func(*cfnTemplate) []string {
		return func(tpl *cfnTemplate) []string { return checkGlobal(tpl, path, want) }
	}
	const table = "Resources.TokenTable"
	runMutations(t, []mutation{
		{"a TTL attribute the store does not write is caught",
			setTo(table+".Properties.TimeToLiveSpecification.AttributeName", "expiresAt"), checkTable, "AttributeName is expiresAt, want ttl"},
		{"a table deleted with the stack is caught",
			setTo(table+".DeletionPolicy", "Delete"), checkTable, "DeletionPolicy is Delete, want Retain"},
		{"point-in-time recovery off is caught",
			setTo(table+".Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled", "false"), checkTable, "PointInTimeRecoveryEnabled is false"},
		{"provisioned billing is caught",
			setTo(table+".Properties.BillingMode", "PROVISIONED"), checkTable, "BillingMode is PROVISIONED"},
		{"a key schema the store does not use is caught",
			setTo(table+".Properties.KeySchema", "[{AttributeName: id, KeyType: HASH}]"), checkTable, "KeySchema is map[id:HASH]"},
		{"a table resource policy is caught",
			setTo(table+".Properties.ResourcePolicy", "{PolicyDocument: {}}"), checkTable, "ResourcePolicy is"},
		{"x86_64 in Globals is caught",
			setTo("Globals.Function.Architectures", "[x86_64]"), global("Architectures", "[arm64]"), "Globals.Function.Architectures is [x86_64], want [arm64]"},
		{"a function overriding the runtime is caught",
			setTo("Resources.WhoAmIFunction.Properties.Runtime", "go1.x"), global("Runtime", "provided.al2023"), "WhoAmIFunction overrides Runtime with go1.x"},
		{"text logs are caught",
			setTo("Globals.Function.LoggingConfig.LogFormat", "Text"), global("LoggingConfig.LogFormat", "JSON"), "LogFormat is Text"},
		{"a function built without the Makefile is caught",
			setTo("Resources.WhoAmIFunction.Metadata.BuildMethod", "go1.x"), build("WhoAmIFunction", "./functions/whoami"), `Metadata.BuildMethod is "go1.x"`},
		{"a CodeUri other than the repository root is caught",
			setTo("Resources.WhoAmIFunction.Properties.CodeUri", "functions/whoami"), build("WhoAmIFunction", "./functions/whoami"), `CodeUri is "functions/whoami"`},
		{"a GoPackage note naming another package is caught",
			setTo("Resources.WhoAmIFunction.Metadata.GoPackage", "./functions/list-tokens"), build("WhoAmIFunction", "./functions/whoami"), "but make builds"},
	})
}

func TestBuildCommandCheck(t *testing.T) {
	const good = `CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc,nethttpomithttp2 -trimpath -ldflags='-s -w -buildid=' -o /x/bootstrap ./functions/whoami`
	for _, tc := range []struct {
		name  string
		lines []string
		want  string // part of a problem; "" for none
	}{
		{"the Lambda build of a function package passes", []string{good}, ""},
		{"the same flags in another order pass", []string{`GOARCH=arm64 CGO_ENABLED=0 GOOS=linux go build -o /x/bootstrap -trimpath -ldflags "-s -w -buildid=" -tags=lambda.norpc,nethttpomithttp2 ./authorizer`}, ""},
		{"an amd64 build is caught", []string{strings.Replace(good, "GOARCH=arm64", "GOARCH=amd64", 1)}, "builds with environment"},
		{"cgo is caught", []string{strings.Replace(good, "CGO_ENABLED=0 ", "", 1)}, "builds with environment"},
		{"a build without -trimpath is caught", []string{strings.Replace(good, " -trimpath", "", 1)}, "builds with flags"},
		{"a build with the RPC shim is caught", []string{strings.Replace(good, "-tags lambda.norpc,nethttpomithttp2 ", "-tags nethttpomithttp2 ", 1)}, "builds with flags"},
		{"a build with net/http's HTTP/2 is caught", []string{strings.Replace(good, "-tags lambda.norpc,nethttpomithttp2 ", "-tags lambda.norpc ", 1)}, "builds with flags"},
		{"a build that keeps the build id is caught", []string{strings.Replace(good, " -buildid=", "", 1)}, "builds with flags"},
		{"an artifact elsewhere is caught", []string{strings.Replace(good, "/x/bootstrap", "/x/main", 1)}, `writes "/x/main"`},
		{"a package outside functions/ and authorizer/ is caught", []string{strings.Replace(good, "./functions/whoami", "./cmd/local", 1)}, "builds packages"},
		{"two commands are caught", []string{good, "cp x y"}, "runs 2 commands"},
		{"no command is caught", nil, "runs 0 commands"},
		{"a pipeline is caught", []string{good + " | tee log"}, "not a plain command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := checkBuildCommands("build-X", tc.lines, "/x/bootstrap")
			if tc.want == "" && len(problems) > 0 {
				t.Errorf("got problems %q, want none", problems)
			}
			if tc.want != "" && !hasProblem(problems, tc.want) {
				t.Errorf("got problems %q, want one containing %q", problems, tc.want)
			}
		})
	}
}

func TestSourceDirCheck(t *testing.T) {
	root := t.TempDir()
	write := func(path, src string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, path), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("functions/a/main.go", "package main\n")
	write("functions/lib/main.go", "package lib\n")
	write("functions/orphan/main.go", "package main\n")
	write("authorizer/main.go", "package main\n")
	problems := checkSourceDirs(root, map[string]string{"A": "./functions/a", "Lib": "./functions/lib", "Auth": "./authorizer", "Gone": "./functions/gone"})
	for _, want := range []string{
		"Lib: ./functions/lib/main.go is package lib, want main",
		"./functions/orphan has no function in template.yaml",
		"Gone: open",
	} {
		if !hasProblem(problems, want) {
			t.Errorf("got problems %q, want one containing %q", problems, want)
		}
	}
	if len(problems) != 3 {
		t.Errorf("got %d problems %q, want 3", len(problems), problems)
	}
}
