package templatecheck

import (
	"fmt"
	"go/token"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/auditstream"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// The routes of the API, their functions and the scopes they need are
// internal/api's route table (api.Routes): checkRoutes holds template.yaml's
// API events to it, both ways, so a route cannot be added without its row.

// methodThrottles are the routes with a throttle of their own on the stage
// (the API's MethodSettings), as the template writes their limits; every
// other route has the stage's default (ResourcePath /*).
var methodThrottles = map[string]methodThrottle{
	"POST /api-tokens/revoke": {Rate: "!Ref LeakRevocationThrottleRateLimit", Burst: "!Ref LeakRevocationThrottleBurstLimit"},
}

// ruleTable is every EventBridge rule that invokes a function, by the one
// detail-type it matches: the function, the bus it listens on ("default"
// for the account's default bus) and its whole event pattern, as
// patternString writes it. Widening a rule shows up as a change here.
var ruleTable = map[string]eventRule{
	// Anyone IAM allows to put events on the stack's bus may request a run,
	// from any source (docs/pipeline.md), the plans' schedules
	// (schedules.Source) among them; the default bus is not enough.
	"Sandbox Refresh Requested": {
		Function: "SandboxRefreshEventsFunction",
		Bus:      "!Ref SandboxRefreshEventBus",
		Pattern:  "{detail-type: [Sandbox Refresh Requested]}",
	},
	// How runs end, to announce them: only from Step Functions itself (no one
	// can put an aws.* source), only this state machine's executions (no
	// other execution's input reaches the function), only final statuses.
	"Step Functions Execution Status Change": {
		Function: "SandboxRefreshEventsFunction",
		Bus:      "default",
		Pattern: "{detail: {stateMachineArn: [!Ref SandboxRefreshStateMachine], status: [ABORTED, FAILED, SUCCEEDED, TIMED_OUT]}, " +
			"detail-type: [Step Functions Execution Status Change], source: [aws.states]}",
	},
}

// iamAllowlist is, for each function, every IAM action its role has beyond
// commonGrants (its own log group, X-Ray), and on what. The roles must grant
// exactly this: widening a policy shows up as a change to this list.
var iamAllowlist = map[string][]grant{
	// Both puts of the create transaction (token item, description item);
	// a rotation reads the old token, then puts the new one, updates (or,
	// without overlap, deletes) the old one and updates the description
	// item in one transaction.
	"CreateTokenFunction": {
		{"dynamodb:PutItem", tableARN, ""}, {"dynamodb:GetItem", tableARN, ""},
		{"dynamodb:UpdateItem", tableARN, ""}, {"dynamodb:DeleteItem", tableARN, ""},
		// Both transactions hold the tenant policy to the version checked.
		{"dynamodb:ConditionCheckItem", tableARN, policyCheckCondition},
	},
	// A page of tokens, and the tenant policy that flags those outside it.
	"ListTokensFunction": {{"dynamodb:Query", tableARN, ""}, {"dynamodb:GetItem", tableARN, ""}},
	// Read the tenant policy (ownerOnlyDelete) and the token, then delete it
	// (conditioned on its user under ownerOnlyDelete) and its description
	// item in one transaction, with its audit event (an audit item only);
	// another user's token, holding the tenant policy to the version it
	// was decided under, as CreateTokenFunction's.
	"DeleteTokenFunction": {
		{"dynamodb:GetItem", tableARN, ""}, {"dynamodb:DeleteItem", tableARN, ""}, {"dynamodb:PutItem", tableARN, auditPutCondition},
		{"dynamodb:ConditionCheckItem", tableARN, policyCheckCondition},
	},
	// Read the tenant's policy item, and put its next version (an item of
	// the policy's attributes only: no token can be written, nothing
	// returned) with its audit event in one transaction.
	"TenantPolicyFunction": {{"dynamodb:GetItem", tableARN, ""}, {"dynamodb:PutItem", tableARN, putPolicyCondition}, {"dynamodb:PutItem", tableARN, auditPutCondition}},
	// The strongly consistent read of the token item on every request, and
	// the record of use: the key, the last-use attributes and the recent
	// source IPs only, and no item returned; a first use from a new IP's
	// audit event (an audit item only).
	"AuthorizerFunction": {{"dynamodb:GetItem", tableARN, ""}, {"dynamodb:UpdateItem", tableARN, recordUseCondition}, {"dynamodb:PutItem", tableARN, auditPutCondition}},
	// Leak revocation deletes as DeleteTokenFunction does, and announces
	// each revoked token on the stack's bus.
	"RevokeLeakedTokensFunction": {
		{"dynamodb:GetItem", tableARN, ""}, {"dynamodb:DeleteItem", tableARN, ""}, {"dynamodb:PutItem", tableARN, auditPutCondition},
		{"events:PutEvents", "!GetAtt SandboxRefreshEventBus.Arn", ""},
	},
	// The same read, of the token it is asked about.
	"IntrospectTokenFunction": {{"dynamodb:GetItem", tableARN, ""}},
	// Publishes the trusted public keys (from KMS, the key policies' grant).
	"PublicKeysFunction": nil,
	// Answers from the authorizer context alone.
	"WhoAmIFunction": nil,
	// Serves files embedded in its binary.
	"ConsoleFunction": nil,
	"SandboxPlansFunction": {
		// The tenant's plan items: put, get, delete one, list them.
		{"dynamodb:GetItem", tableARN, ""}, {"dynamodb:PutItem", tableARN, ""},
		{"dynamodb:DeleteItem", tableARN, ""}, {"dynamodb:Query", tableARN, ""},
		// Each plan's schedule, in the stack's schedule group only.
		{"scheduler:CreateSchedule", schedulesARN, ""},
		{"scheduler:UpdateSchedule", schedulesARN, ""},
		{"scheduler:DeleteSchedule", schedulesARN, ""},
		// Creating or updating a schedule passes the role it runs as: that
		// role only, and to EventBridge Scheduler only.
		{"iam:PassRole", "!GetAtt SandboxRefreshSchedulerRole.Arn", passToScheduler},
		// A plan is checked against Salesforce before it is stored: the
		// plan's Salesforce key, by the names plans may give; a plan that
		// names no secrets gets those of its sandbox, found by name.
		{"secretsmanager:GetSecretValue", tenantSecretsARN, ""},
		{"secretsmanager:DescribeSecret", tenantSecretsARN, ""},
	},
	"PipelineSecretsFunction": {
		// The pipeline's token: created, rotated, or deleted when it cannot
		// be stored; the sandbox's plan, pointed at its secrets.
		{"dynamodb:GetItem", tableARN, ""}, {"dynamodb:PutItem", tableARN, ""},
		{"dynamodb:UpdateItem", tableARN, ""}, {"dynamodb:DeleteItem", tableARN, ""},
		// The token's create or rotation holds the tenant policy to the
		// version checked, as CreateTokenFunction's.
		{"dynamodb:ConditionCheckItem", tableARN, policyCheckCondition},
		// The plan's secrets, by the names plans may give: stored, found,
		// the held token read, rotation turned on.
		{"secretsmanager:CreateSecret", tenantSecretsARN, ""},
		{"secretsmanager:PutSecretValue", tenantSecretsARN, ""},
		{"secretsmanager:DescribeSecret", tenantSecretsARN, ""},
		{"secretsmanager:GetSecretValue", tenantSecretsARN, ""},
		{"secretsmanager:RotateSecret", tenantSecretsARN, ""},
		// RotateSecret's other required permission: invoking the rotation
		// function, that one only.
		{"lambda:InvokeFunction", rotationFunctionARN, ""},
	},
	"DcsTokenRotationFunction": {
		// A rotation function's own calls on its secret, on the DCS token
		// secrets only (never the Salesforce keys); the API makes the token.
		{"secretsmanager:DescribeSecret", dcsTokenSecretsARN, ""},
		{"secretsmanager:GetSecretValue", dcsTokenSecretsARN, ""},
		{"secretsmanager:PutSecretValue", dcsTokenSecretsARN, ""},
		{"secretsmanager:UpdateSecretVersionStage", dcsTokenSecretsARN, ""},
	},
	"SandboxRefreshesFunction": {
		// Plan, active-run lock, run and Idempotency-Key items; listing
		// runs; claiming a run (the puts of one transaction).
		{"dynamodb:GetItem", tableARN, ""}, {"dynamodb:PutItem", tableARN, ""}, {"dynamodb:Query", tableARN, ""},
		// The tenant's runs of every sandbox, newest first.
		{"dynamodb:Query", index1ARN, ""},
		// Runs are executions of the one state machine: started on it, and
		// followed and redriven on its executions only. A run's steps are on
		// its record: no history is read.
		{"states:StartExecution", "!Ref SandboxRefreshStateMachine", ""},
		{"states:DescribeExecution", executionsARN, ""},
		{"states:RedriveExecution", executionsARN, ""},
	},
	"SandboxRefreshEventsFunction": {
		// Plan, active-run lock and run items; claiming a run (both puts of
		// one transaction). A requested run is named by its event, so no
		// Idempotency-Key and no listing.
		{"dynamodb:GetItem", tableARN, ""}, {"dynamodb:PutItem", tableARN, ""},
		// Starts requested runs; reads whether the sandbox's last run still runs.
		{"states:StartExecution", "!Ref SandboxRefreshStateMachine", ""},
		{"states:DescribeExecution", executionsARN, ""},
		// Announces how runs ended, and requests that started nothing, on the stack's bus.
		{"events:PutEvents", "!GetAtt SandboxRefreshEventBus.Arn", ""},
		// The on-failure destination of its EventBridge (asynchronous) invocations.
		{"sqs:SendMessage", "!GetAtt SandboxRefreshEventsDeadLetterQueue.Arn", ""},
	},
	"PipelineStepsFunction": {
		// The tenants' Salesforce keys and DCS tokens, by the names plans may give.
		{"secretsmanager:GetSecretValue", tenantSecretsARN, ""},
		// Each step reports to its run's record.
		{"dynamodb:GetItem", tableARN, ""}, {"dynamodb:PutItem", tableARN, ""},
	},
	"ExpiryNoticesFunction": {
		// The notices due: a query of the index per expiry day, never a Scan.
		{"dynamodb:Query", index1ARN, ""},
		// Claim, record and release a notice on its token's item.
		{"dynamodb:UpdateItem", tableARN, ""},
		// The "expired" notice's audit event (an audit item only).
		{"dynamodb:PutItem", tableARN, auditPutCondition},
		// "API Token Expiring" / "API Token Expired", on the stack's bus.
		{"events:PutEvents", "!GetAtt SandboxRefreshEventBus.Arn", ""},
	},
	// The tenant's audit partition, or the index for one action: read only.
	"ListAuditEventsFunction": {{"dynamodb:Query", tableARN, auditQueryCondition}, {"dynamodb:Query", index1ARN, auditQueryCondition}},
	"PublishAuditEventsFunction": {
		// Lambda polls the table's stream with its role.
		{"dynamodb:DescribeStream", streamARN, ""}, {"dynamodb:GetRecords", streamARN, ""},
		{"dynamodb:GetShardIterator", streamARN, ""}, {"dynamodb:ListStreams", streamARN, ""},
		// "Audit Event Recorded", on the stack's bus.
		{"events:PutEvents", "!GetAtt SandboxRefreshEventBus.Arn", ""},
	},
}

// roleAllowlist is, for each role that no function or state machine runs
// as, who may assume it and everything it may do. Every other role of the
// template is a function's or a state machine's, checked by its allowlist.
var roleAllowlist = map[string]serviceRole{
	// EventBridge Scheduler runs the plans' schedules as this role, on this
	// account's behalf only: it puts their "Sandbox Refresh Requested"
	// events on the stack's bus, nothing else.
	"SandboxRefreshSchedulerRole": {
		Trust:  trust{schedulerService, "StringEquals aws:SourceAccount=!Ref AWS::AccountId"},
		Grants: []grant{{"events:PutEvents", "!GetAtt SandboxRefreshEventBus.Arn", ""}},
	},
	// EventBridge Scheduler runs the expiry notices' schedule as this role,
	// on this account's behalf only: it invokes ExpiryNoticesFunction,
	// nothing else (scheduledTable).
	"ExpiryNoticesSchedulerRole": {
		Trust:  trust{schedulerService, "StringEquals aws:SourceAccount=!Ref AWS::AccountId"},
		Grants: []grant{{"lambda:InvokeFunction", "!GetAtt ExpiryNoticesFunction.Arn", ""}},
	},
	// API Gateway's account-wide CloudWatch Logs role (ConfigureApiGatewayLogging):
	// AWS's managed policy made for exactly that, and nothing else.
	"ApiGatewayCloudWatchRole": {
		Trust:           trust{Service: "apigateway.amazonaws.com"},
		ManagedPolicies: []string{"!Sub arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"},
	},
}

// executionsARN is how a policy names the executions of the state machine.
const executionsARN = "!Sub arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${SandboxRefreshStateMachine.Name}:*"

// stateMachineAllowlist is, for each state machine, every IAM action its
// role has, and on what, logging and tracing included.
var stateMachineAllowlist = map[string][]grant{
	"SandboxRefreshStateMachine": append([]grant{
		// Every Task state runs the steps function (and could run a version
		// or an alias of it). The definition sends no events: outcomes come
		// from Step Functions' own status changes.
		{"lambda:InvokeFunction", "!GetAtt PipelineStepsFunction.Arn", ""},
		{"lambda:InvokeFunction", "!Sub ${PipelineStepsFunction.Arn}:*", ""},
		// Tracing.Enabled.
		{"xray:PutTraceSegments", "*", ""}, {"xray:PutTelemetryRecords", "*", ""},
		{"xray:GetSamplingRules", "*", ""}, {"xray:GetSamplingTargets", "*", ""},
	}, logDeliveryGrants()...),
}

// keyAllowlist is what the signing keys' policies let each function's role
// do, and on which keys: those its environment variable names, in every
// combination of the parameters (ActiveSigningKey, TrustInactiveSigningKey).
// No IAM policy grants KMS actions.
var keyAllowlist = map[string][]keyUse{
	// Only the active key, the one it signs with, and only ES256 over a digest.
	"CreateTokenFunction": {{"kms:Sign", "SIGNING_KEY_ID", signCondition}},
	// The same for the other minting function: the pipeline's token.
	"PipelineSecretsFunction": {{"kms:Sign", "SIGNING_KEY_ID", signCondition}},
	// Only the keys whose tokens it accepts: the active one, and the inactive
	// one while TrustInactiveSigningKey is "true".
	"AuthorizerFunction": {{"kms:GetPublicKey", "TRUSTED_KEY_IDS", ""}},
	// The same keys: it makes the authorizer's decision, and publishes them.
	"IntrospectTokenFunction": {{"kms:GetPublicKey", "TRUSTED_KEY_IDS", ""}},
	"PublicKeysFunction":      {{"kms:GetPublicKey", "TRUSTED_KEY_IDS", ""}},
	// The same keys: it verifies tokens as the authorizer does
	// (checkVerifiersAgree).
	"RevokeLeakedTokensFunction": {{"kms:GetPublicKey", "TRUSTED_KEY_IDS", ""}},
}

// recordUseCondition is the condition of the authorizer's UpdateItem grant,
// as renderCondition writes it: only the attributes RecordUse names
// (dynamo.RecordUseAttributes), and no ReturnValues (an update that returns
// the item would be a read of every attribute).
var recordUseCondition = "ForAllValues:StringEquals dynamodb:Attributes=[" + strings.Join(dynamo.RecordUseAttributes, ", ") + "]; StringEqualsIfExists dynamodb:ReturnValues=NONE"

// auditPutCondition is the condition of the grant of PutItem to a function
// whose only puts are audit events: the audit partitions, an audit item's
// attributes (dynamo.AuditItemAttributes), no item returned. Such a role
// cannot put, and so replace, a token, a plan or a run.
var auditPutCondition = "ForAllValues:StringEquals dynamodb:Attributes=[" + strings.Join(dynamo.AuditItemAttributes, ", ") +
	"]; ForAllValues:StringLike dynamodb:LeadingKeys=[" + auditstream.PartitionPrefix + "*]; StringEqualsIfExists dynamodb:ReturnValues=NONE"

// auditQueryCondition is the condition of the list's Query of the table:
// the audit partitions only (never a tenant's tokens).
var auditQueryCondition = "ForAllValues:StringLike dynamodb:LeadingKeys=[" + auditstream.PartitionPrefix + "*]"

// putPolicyCondition is the condition of the policy function's PutItem
// grant, as renderCondition writes it: an item of the attributes
// PutPolicy writes (dynamo.PolicyAttributes), and no ReturnValues.
var putPolicyCondition = "ForAllValues:StringEquals dynamodb:Attributes=[" + strings.Join(dynamo.PolicyAttributes, ", ") + "]; ForAllValues:StringLike dynamodb:LeadingKeys=[TENANT#*]; StringEqualsIfExists dynamodb:ReturnValues=NONE"

// policyCheckCondition is the condition of the minting and delete
// functions' ConditionCheckItem grant, as renderCondition writes it: the policy
// item's key and version (dynamo.PolicyCheckAttributes), in a tenant's
// partition, nothing returned.
var policyCheckCondition = "ForAllValues:StringEquals dynamodb:Attributes=[" + strings.Join(dynamo.PolicyCheckAttributes, ", ") + "]; ForAllValues:StringLike dynamodb:LeadingKeys=[TENANT#*]; StringEqualsIfExists dynamodb:ReturnValues=NONE"

// signCondition is the condition of the create function's kms:Sign grant,
// as renderCondition writes it: ES256 (ECDSA P-256 with SHA-256) over a
// digest the function computed, nothing else.
const signCondition = "StringEquals kms:MessageType=DIGEST, kms:SigningAlgorithm=ECDSA_SHA_256"

// keyAdminActions are what the key policy lets the account root do:
// administer the key, never use it (no Sign, Verify, GetPublicKey, Decrypt,
// CreateGrant...), so only a key policy change can make a new signer.
var keyAdminActions = []string{
	"kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey",
	"kms:DisableKey", "kms:EnableKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
	"kms:ListGrants", "kms:ListKeyPolicies", "kms:ListResourceTags", "kms:PutKeyPolicy",
	"kms:RevokeGrant", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
	"kms:UpdateAlias", "kms:UpdateKeyDescription",
}

// globalSettings are what every function runs with (issue 3): Globals sets
// them and no function may override them with something else.
var globalSettings = []struct {
	name, path, want string
}{
	{"every function runs on provided.al2023", "Runtime", "provided.al2023"},
	{"every function runs on arm64", "Architectures", "[arm64]"},
	{"every function's handler is the bootstrap binary", "Handler", "bootstrap"},
	{"every function logs JSON", "LoggingConfig.LogFormat", "JSON"},
	{"every function is traced", "Tracing", "Active"},
}

// tableChecks are what the DynamoDB store (internal/dynamo) and the
// operators rely on in the token table.
var tableChecks = []struct {
	name  string
	check func(*cfnTemplate) []string
}{
	{"the token table is a DynamoDB table", tableValue("Type", "AWS::DynamoDB::Table")},
	{"the token table survives stack deletion", tableValue("DeletionPolicy", "Retain")},
	{"the token table survives replacement", tableValue("UpdateReplacePolicy", "Retain")},
	{"the token table is billed per request", tableValue("Properties.BillingMode", "PAY_PER_REQUEST")},
	{"the token table expires items by their ttl attribute", tableValue("Properties.TimeToLiveSpecification.AttributeName", "ttl")},
	{"the token table has TTL on", tableValue("Properties.TimeToLiveSpecification.Enabled", "true")},
	{"the token table has point-in-time recovery on", tableValue("Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled", "true")},
	{"the token table is encrypted", tableValue("Properties.SSESpecification.SSEEnabled", "true")},
	{"the token table's key is pk (hash) and sk (range)", tableKeys("KeySchema", "KeyType", map[string]string{"pk": "HASH", "sk": "RANGE"})},
	{"the token table's key attributes are strings", tableKeys("AttributeDefinitions", "AttributeType", map[string]string{"pk": "S", "sk": "S", "gsi1pk": "S", "gsi1sk": "S"})},
	{"the token table has no resource policy", tableValue("Properties.ResourcePolicy", "<unset>")},
}

func tableValue(path, want string) func(*cfnTemplate) []string {
	return func(tpl *cfnTemplate) []string { return checkValue(tpl, "Resources.TokenTable."+path, want) }
}

func tableKeys(path, field string, want map[string]string) func(*cfnTemplate) []string {
	return func(tpl *cfnTemplate) []string {
		if got := keyTypes(at(tpl.root, "Resources.TokenTable.Properties."+path), field); !maps.Equal(got, want) {
			return []string{fmt.Sprintf("TokenTable %s is %v, want %v", path, got, want)}
		}
		return nil
	}
}

// checkTable runs every table check.
func checkTable(tpl *cfnTemplate) []string {
	var problems []string
	for _, tc := range tableChecks {
		problems = append(problems, tc.check(tpl)...)
	}
	return problems
}

// checkGlobal checks that Globals.Function sets path to want and that no
// function overrides it with anything else.
func checkGlobal(tpl *cfnTemplate, path, want string) []string {
	problems := checkValue(tpl, "Globals.Function."+path, want)
	for _, fn := range tpl.functions() {
		if n := fn.prop(path); n != nil && render(n) != want {
			problems = append(problems, fmt.Sprintf("%s overrides %s with %s, want %s", fn.ID, path, render(n), want))
		}
	}
	return problems
}

// checkSigningKeySlots checks, in every combination of the parameters that
// choose the signing keys, that the key the create function signs with
// (SIGNING_KEY_ID) is one key, that the authorizer trusts it
// (TRUSTED_KEY_IDS), and that every KMS alias and the ActiveSigningKeyArn
// output name it.
func checkSigningKeySlots(tpl *cfnTemplate) []string {
	signer, ok1 := tpl.resource("CreateTokenFunction")
	verifier, ok2 := tpl.resource("AuthorizerFunction")
	if !ok1 || !ok2 {
		return []string{"no CreateTokenFunction or no AuthorizerFunction"}
	}
	aliases := tpl.ofType("AWS::KMS::Alias")
	output := at(tpl.root, "Outputs.ActiveSigningKeyArn.Value")
	decided := []*yaml.Node{envValue(tpl, signer, "SIGNING_KEY_ID"), envValue(tpl, verifier, "TRUSTED_KEY_IDS"), output}
	for _, a := range aliases {
		decided = append(decided, a.prop("TargetKeyId"))
	}
	scens, problems := scenarios(tpl, conditionsUsed(decided...))
	if len(problems) > 0 {
		return problems
	}
	sp := newScenarioProblems(scens)
	for _, s := range scens {
		signs, pr := keysNamed(tpl, s, signer, "SIGNING_KEY_ID")
		sp.add(s, pr...)
		trusted, pr := keysNamed(tpl, s, verifier, "TRUSTED_KEY_IDS")
		sp.add(s, pr...)
		if len(signs) != 1 {
			sp.add(s, fmt.Sprintf("CreateTokenFunction's SIGNING_KEY_ID names %v, want one key", signs))
			continue
		}
		active := signs[0]
		if !slices.Contains(trusted, active) {
			sp.add(s, fmt.Sprintf("AuthorizerFunction's TRUSTED_KEY_IDS names %v, not %s, the key new tokens are signed with", trusted, active))
		}
		for _, a := range aliases {
			target, err := s.resolve(a.prop("TargetKeyId"))
			if got := render(target); err != nil || (got != "!Ref "+active && got != "!GetAtt "+active+".Arn") {
				sp.add(s, fmt.Sprintf("%s targets %s, want the active key %s", a.ID, got, active))
			}
		}
		value, err := s.resolve(output)
		if got := render(value); err != nil || got != "!GetAtt "+active+".Arn" {
			sp.add(s, fmt.Sprintf("output ActiveSigningKeyArn is %s, want !GetAtt %s.Arn", got, active))
		}
	}
	return sp.list()
}

// report fails t once per problem.
func report(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

// buildPackage returns the package `make build-<fnID>` builds.
func buildPackage(root, fnID string) (string, error) {
	target := "build-" + fnID
	lines, err := makeDryRun(root, target, "ARTIFACTS_DIR=/x")
	if err != nil {
		return "", err
	}
	pkg, problems := checkBuildCommands(target, lines, "/x/bootstrap")
	if pkg == "" {
		return "", fmt.Errorf("%v", problems)
	}
	return pkg, nil
}

// codeReading is what the functions' code reads from the environment.
type codeReading struct {
	reads   map[string]envReads     // by function
	reached map[token.Position]bool // every read some function's reading reached
	linked  []*goPackage            // this module's followed packages that some function links
}

// functionReads returns, for each function of tpl, what the package its
// make target builds reads from the environment, following it into this
// module's packages.
func functionReads(t *testing.T, root string, tpl *cfnTemplate) codeReading {
	t.Helper()
	module, err := modulePath(root)
	if err != nil {
		t.Fatal(err)
	}
	mains := map[string]string{} // function → import path of its package
	for _, fn := range tpl.functions() {
		pkg, err := buildPackage(root, fn.ID)
		if err != nil {
			t.Errorf("%s: no package to read (see TestFunctionsAreBuiltByTheMakefile): %v", fn.ID, err)
			continue
		}
		mains[fn.ID] = module + "/" + strings.TrimPrefix(pkg, "./")
	}
	listed, err := goList(root, slices.Sorted(maps.Values(mains))...)
	if err != nil {
		t.Fatal(err)
	}
	l := &loader{fset: token.NewFileSet(), module: module, dirs: map[string]string{}}
	for path, p := range listed {
		if path == module || strings.HasPrefix(path, module+"/") {
			l.dirs[path] = p.Dir
		}
	}
	out := codeReading{reads: map[string]envReads{}, reached: map[token.Position]bool{}}
	for _, id := range slices.Sorted(maps.Keys(mains)) {
		main, err := l.load(mains[id])
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		reads, at, err := codeEnvReads(l, main, listed[mains[id]].Deps)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		out.reads[id] = reads
		maps.Copy(out.reached, at)
	}
	for _, path := range slices.Sorted(maps.Keys(l.dirs)) {
		if l.followed(path) {
			p, err := l.load(path)
			if err != nil {
				t.Fatal(err)
			}
			out.linked = append(out.linked, p)
		}
	}
	return out
}

func TestFunctionsAreBuiltByTheMakefile(t *testing.T) {
	root, tpl := repoRoot(t), loadTemplate(t)
	pkgs := map[string]string{}
	for _, fn := range tpl.functions() {
		target := "build-" + fn.ID
		t.Run(fmt.Sprintf("%s is built by make %s with the Lambda flags from its own package", fn.ID, target), func(t *testing.T) {
			lines, err := makeDryRun(root, target, "ARTIFACTS_DIR=/x")
			if err != nil {
				t.Fatal(err)
			}
			pkg, problems := checkBuildCommands(target, lines, "/x/bootstrap")
			report(t, append(problems, checkBuildMetadata(fn, pkg)...))
			if pkg != "" {
				pkgs[fn.ID] = pkg
			}
		})
	}
	t.Run("every function package is a main package and every function directory is in the template", func(t *testing.T) {
		report(t, checkSourceDirs(root, pkgs))
	})
	t.Run("make build builds every function into build/<LogicalId>/bootstrap", func(t *testing.T) {
		lines, err := makeDryRun(root, "build")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, line := range lines {
			b, err := parseGoBuild(line)
			if err != nil {
				t.Fatal(err)
			}
			dir, file := filepath.Split(b.Output)
			if filepath.Dir(filepath.Clean(dir)) != "build" || file != "bootstrap" || len(b.Packages) != 1 {
				t.Errorf("make build runs %q, want a build of one package into build/<LogicalId>/bootstrap", line)
				continue
			}
			got[filepath.Base(dir)] = b.Packages[0]
		}
		if !maps.Equal(got, pkgs) {
			t.Errorf("make build builds %v, want %v (as the build-<LogicalId> targets)", got, pkgs)
		}
	})
}

func TestGlobals(t *testing.T) {
	tpl := loadTemplate(t)
	for _, tc := range globalSettings {
		t.Run(tc.name, func(t *testing.T) {
			report(t, checkGlobal(tpl, tc.path, tc.want))
		})
	}
}

func TestEnvironmentIsWhatTheCodeReads(t *testing.T) {
	root, tpl := repoRoot(t), loadTemplate(t)
	code := functionReads(t, root, tpl)
	for _, fn := range tpl.functions() {
		t.Run(fn.ID+" sets exactly the environment variables its code reads", func(t *testing.T) {
			r, ok := code.reads[fn.ID]
			if !ok {
				t.Skip("its code could not be read (reported above)")
			}
			report(t, checkEnvironment(tpl, fn.ID, r))
		})
	}
	t.Run("every environment read in the packages the functions link is one the check follows from a function", func(t *testing.T) {
		module, err := modulePath(root)
		if err != nil {
			t.Fatal(err)
		}
		report(t, checkEnvReadsReached(module, code.linked, code.reached))
	})
}

func TestLeastPrivilege(t *testing.T) {
	tpl := loadTemplate(t)
	for _, fn := range tpl.functions() {
		t.Run(fn.ID+" is granted exactly its allowlist", func(t *testing.T) {
			allowed, ok := iamAllowlist[fn.ID]
			if !ok {
				t.Fatalf("%s has no entry in iamAllowlist: add one listing every action it needs and on what", fn.ID)
			}
			report(t, checkFunctionGrants(tpl, fn.ID, allowed))
		})
	}
	for _, sm := range tpl.ofType("AWS::Serverless::StateMachine") {
		t.Run(sm.ID+" is granted exactly its allowlist", func(t *testing.T) {
			allowed, ok := stateMachineAllowlist[sm.ID]
			if !ok {
				t.Fatalf("%s has no entry in stateMachineAllowlist: add one listing every action it needs and on what", sm.ID)
			}
			report(t, checkStateMachineGrants(tpl, sm.ID, allowed))
		})
	}
	for _, id := range slices.Sorted(maps.Keys(roleAllowlist)) {
		t.Run(id+" is granted exactly its allowlist", func(t *testing.T) {
			report(t, checkServiceRole(tpl, id, roleAllowlist[id]))
		})
	}
	t.Run("every role is a function's, a state machine's or in roleAllowlist", func(t *testing.T) {
		report(t, checkRolesAccounted(tpl, roleAllowlist))
	})
	t.Run("the plans' schedules are wired to the bus the request rule listens on, with the scheduler role", func(t *testing.T) {
		report(t, checkSchedules(tpl, schedulesFunction, iamAllowlist[schedulesFunction], roleAllowlist))
	})
	t.Run("every allowlist entry is a function or a state machine of the template", func(t *testing.T) {
		for _, id := range slices.Sorted(maps.Keys(iamAllowlist)) {
			if !isFunction(tpl, id) {
				t.Errorf("iamAllowlist has %s, which is not a function of the template", id)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(stateMachineAllowlist)) {
			if r, ok := tpl.resource(id); !ok || r.Type != "AWS::Serverless::StateMachine" {
				t.Errorf("stateMachineAllowlist has %s, which is not a state machine of the template", id)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(keyAllowlist)) {
			if !isFunction(tpl, id) {
				t.Errorf("keyAllowlist has %s, which is not a function of the template", id)
			}
		}
	})
	t.Run("only the minting functions may sign, with the active key only, and only the functions that verify or publish tokens' keys may read public keys, of the trusted keys only", func(t *testing.T) {
		report(t, checkKeyPolicies(tpl, keyAdminActions, keyAllowlist))
	})
	t.Run("the key that signs is trusted, and the alias and the ActiveSigningKeyArn output name it", func(t *testing.T) {
		report(t, checkSigningKeySlots(tpl))
	})
	t.Run("leak revocation trusts exactly the authorizer's issuer and keys", func(t *testing.T) {
		report(t, checkVerifiersAgree(tpl, "AuthorizerFunction", "RevokeLeakedTokensFunction"))
	})
	t.Run("no policy statement uses wildcard actions, DynamoDB beyond the token table, secrets beyond the tenants', schedules beyond the stack's, PassRole to any service or \"*\" where AWS allows narrower", func(t *testing.T) {
		report(t, checkPolicyStatements(tpl))
	})
	t.Run("every rule invoking a function is the rule table's, with a dead-letter queue only its rules may fill, and nothing else may invoke or put events across accounts", func(t *testing.T) {
		report(t, checkEventRules(tpl, ruleTable, permissionTable))
	})
}

func TestStateMachines(t *testing.T) {
	root, tpl := repoRoot(t), loadTemplate(t)
	t.Run("each state machine is Standard, logs and traces, and its substitutions and task timeouts fit its definition", func(t *testing.T) {
		report(t, checkStateMachines(tpl, root))
	})
}

func TestAlarms(t *testing.T) {
	tpl := loadTemplate(t)
	t.Run("every function's throttles and every state machine's failed and timed-out runs raise an alarm", func(t *testing.T) {
		report(t, checkAlarms(tpl))
	})
	t.Run("every function has its own throttles alarm, and they are all alike", func(t *testing.T) {
		report(t, checkThrottleAlarms(tpl))
	})
	t.Run("no alarm queries more metrics or expressions than CloudWatch allows", func(t *testing.T) {
		report(t, checkAlarmLimits(tpl))
	})
	t.Run("a second masking job on one sandbox copy raises an alarm", func(t *testing.T) {
		report(t, checkExtraMaskingAlarm(tpl))
	})
}

func TestAPI(t *testing.T) {
	tpl := loadTemplate(t)
	t.Run("the Lambda authorizer never caches a result and is the API's default", func(t *testing.T) {
		report(t, checkAuthorizers(tpl))
	})
	t.Run("every route is on the API behind its authorizer, or public as its row says, and the routes are the route table", func(t *testing.T) {
		report(t, checkRoutes(tpl, api.Routes()))
	})
	t.Run("exactly the routes of methodThrottles have their own throttle, and no method logs request data", func(t *testing.T) {
		report(t, checkMethodThrottles(tpl, methodThrottles, api.Routes()))
	})
}

func TestTokenTable(t *testing.T) {
	tpl := loadTemplate(t)
	for _, tc := range tableChecks {
		t.Run(tc.name, func(t *testing.T) {
			report(t, tc.check(tpl))
		})
	}
}

// TestParameterBoundsAreTheCodesLimits checks that the parameters the code
// also bounds allow exactly what it does: a deploy-time refusal instead of
// a rotation the API refuses.
func TestParameterBoundsAreTheCodesLimits(t *testing.T) {
	tpl := loadTemplate(t)
	for _, tc := range []struct {
		param, bound string
		want         int
	}{
		{"PipelineTokenRotationOverlapMinutes", "MaxValue", tokens.MaxOverlapMinutes},
		{"PipelineTokenRotationOverlapMinutes", "MinValue", 0},
	} {
		t.Run(tc.param+" "+tc.bound, func(t *testing.T) {
			if got := render(at(tpl.root, "Parameters."+tc.param+"."+tc.bound)); got != fmt.Sprint(tc.want) {
				t.Errorf("got %s, want %d", got, tc.want)
			}
		})
	}
}
