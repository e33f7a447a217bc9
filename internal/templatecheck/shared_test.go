package templatecheck

import (
	"fmt"
	"regexp"
	"testing"
)

// The authorizer, shared with other REST APIs (README, "Another API"): the
// stack exports its ARN, and lets API Gateway invoke it for one other API
// named by a parameter, and for no one else.
const (
	sharedAuthorizerOutput     = "AuthorizerFunctionArn"
	sharedAuthorizerExport     = "!Sub ${AWS::StackName}-AuthorizerFunctionArn"
	sharedAuthorizerParameter  = "SharedAuthorizerSourceArn"
	sharedAuthorizerCondition  = "HasSharedAuthorizerSourceArn"
	sharedAuthorizerPermission = "SharedAuthorizerInvokePermission"
)

// sourceArnSamples are values of SharedAuthorizerSourceArn that its
// AllowedPattern must accept (true) or refuse (false): one API's authorizer,
// or any authorizer of one API; never every API, a method ARN (the
// authorizer is invoked as an authorizer) or another service.
var sourceArnSamples = map[string]bool{
	"": true,
	"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/authorizers/xyz123":       true,
	"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/authorizers/*":            true,
	"arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:a1b2c3d4e5/authorizers/*": true,
	"*": false,
	"arn:aws:execute-api:eu-west-1:123456789012:*/authorizers/*":         false,
	"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/*":            false,
	"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/v1/GET/items": false,
	"arn:aws:execute-api:eu-west-1:*:a1b2c3d4e5/authorizers/*":           false,
	"arn:aws:lambda:eu-west-1:123456789012:function:other":               false,
}

// checkSharedAuthorizer checks the output that exports the API's
// authorizer function, and that the only Lambda permission of the template
// lets API Gateway invoke that function, on the condition that
// SharedAuthorizerSourceArn is set, with that ARN as its source: without a
// source ARN any API of any account could invoke it.
func checkSharedAuthorizer(tpl *cfnTemplate) []string {
	var problems []string
	api, pr := theAPI(tpl)
	if pr != nil {
		return pr
	}
	var authorizerFn string
	for _, e := range entries(api.prop("Auth.Authorizers")) {
		if e.Key == render(apiAuth(tpl, api, "DefaultAuthorizer")) {
			authorizerFn, _, _ = getAtt(at(e.Value, "FunctionArn"))
		}
	}
	if authorizerFn == "" {
		return []string{api.ID + ": no default Lambda authorizer to share"}
	}
	fnArn := "!GetAtt " + authorizerFn + ".Arn"
	out := "Outputs." + sharedAuthorizerOutput
	if got := render(at(tpl.root, out+".Value")); got != fnArn {
		problems = append(problems, fmt.Sprintf("output %s is %s, want %s (the API's default authorizer)", sharedAuthorizerOutput, got, fnArn))
	}
	if got := render(at(tpl.root, out+".Export.Name")); got != sharedAuthorizerExport {
		problems = append(problems, fmt.Sprintf("output %s exports %s, want %s (other stacks import it by this name)", sharedAuthorizerOutput, got, sharedAuthorizerExport))
	}
	if got := render(at(tpl.root, out+".Condition")); got != "<unset>" {
		problems = append(problems, fmt.Sprintf("output %s has Condition %s: the authorizer always exists, so must its export", sharedAuthorizerOutput, got))
	}

	param := "Parameters." + sharedAuthorizerParameter
	if got := render(at(tpl.root, param+".Default")); got != `""` && got != "" {
		problems = append(problems, fmt.Sprintf("parameter %s defaults to %s, want \"\" (no other API until one is named)", sharedAuthorizerParameter, got))
	}
	pattern, _ := plainScalar(at(tpl.root, param+".AllowedPattern"))
	if re, err := regexp.Compile(pattern); pattern == "" || err != nil {
		problems = append(problems, fmt.Sprintf("parameter %s: AllowedPattern %q does not compile: %v", sharedAuthorizerParameter, pattern, err))
	} else {
		for sample, ok := range sourceArnSamples {
			if re.MatchString(sample) != ok {
				problems = append(problems, fmt.Sprintf("parameter %s: AllowedPattern %s %q, want it to %s", sharedAuthorizerParameter,
					map[bool]string{true: "refuses", false: "accepts"}[ok], sample, map[bool]string{true: "accept", false: "refuse"}[ok]))
			}
		}
	}
	wantCondition := `<!Not [!Equals [!Ref ` + sharedAuthorizerParameter + `, ""]]>` // as render writes an intrinsic it does not name
	if got := render(at(tpl.root, "Conditions."+sharedAuthorizerCondition)); got != wantCondition {
		problems = append(problems, fmt.Sprintf("condition %s is %s, want %s", sharedAuthorizerCondition, got, wantCondition))
	}

	perm, ok := tpl.resource(sharedAuthorizerPermission)
	if !ok || perm.Type != "AWS::Lambda::Permission" {
		return append(problems, fmt.Sprintf("no AWS::Lambda::Permission %s: another API could not invoke the authorizer", sharedAuthorizerPermission))
	}
	for _, want := range []struct{ path, value string }{
		{"Condition", sharedAuthorizerCondition},
		{"Properties.Action", "lambda:InvokeFunction"},
		{"Properties.FunctionName", fnArn},
		{"Properties.Principal", "apigateway.amazonaws.com"},
		{"Properties.SourceArn", "!Ref " + sharedAuthorizerParameter},
		{"Properties.SourceAccount", "<unset>"},
		{"Properties.PrincipalOrgID", "<unset>"},
		{"Properties.FunctionUrlAuthType", "<unset>"},
	} {
		if got := render(at(perm.Node, want.path)); got != want.value {
			problems = append(problems, fmt.Sprintf("%s: %s is %s, want %s", sharedAuthorizerPermission, want.path, got, want.value))
		}
	}
	return problems
}

// checkTrustedKeysAgree checks that every function that reads
// TRUSTED_KEY_IDS (the authorizer, introspection, the JWKS) is given the
// same value: the JWKS publishes exactly the keys the authorizer accepts.
func checkTrustedKeysAgree(tpl *cfnTemplate) []string {
	authorizer, ok := tpl.resource("AuthorizerFunction")
	if !ok {
		return []string{"no AuthorizerFunction"}
	}
	want := render(envValue(tpl, authorizer, "TRUSTED_KEY_IDS"))
	var problems []string
	for _, fn := range tpl.functions() {
		if n := envValue(tpl, fn, "TRUSTED_KEY_IDS"); n != nil && render(n) != want {
			problems = append(problems, fmt.Sprintf("%s: TRUSTED_KEY_IDS is %s, want the authorizer's %s", fn.ID, render(n), want))
		}
	}
	return problems
}

func TestTokensForOtherServices(t *testing.T) {
	tpl := loadTemplate(t)
	t.Run("the authorizer's ARN is exported, and only the API named by SharedAuthorizerSourceArn may invoke it besides this one", func(t *testing.T) {
		report(t, checkSharedAuthorizer(tpl))
	})
	t.Run("the authorizer, introspection and the JWKS trust the same keys", func(t *testing.T) {
		report(t, checkTrustedKeysAgree(tpl))
	})
}

func TestSharedAuthorizerChecksCatchMutations(t *testing.T) {
	const perm = "Resources." + sharedAuthorizerPermission
	runMutations(t, []mutation{
		{"an output without its export is caught",
			removeAt("Outputs.AuthorizerFunctionArn.Export"), checkSharedAuthorizer, "output AuthorizerFunctionArn exports <unset>"},
		{"an output of another function is caught",
			setTo("Outputs.AuthorizerFunctionArn.Value", "!GetAtt WhoAmIFunction.Arn"), checkSharedAuthorizer, "output AuthorizerFunctionArn is !GetAtt WhoAmIFunction.Arn"},
		{"a permission for any API Gateway API is caught",
			removeAt(perm + ".Properties.SourceArn"), checkSharedAuthorizer, "SourceArn is <unset>, want !Ref SharedAuthorizerSourceArn"},
		{"a permission for another principal is caught",
			setTo(perm+".Properties.Principal", `"*"`), checkSharedAuthorizer, "Principal is *, want apigateway.amazonaws.com"},
		{"a permission on another function is caught",
			setTo(perm+".Properties.FunctionName", "!GetAtt CreateTokenFunction.Arn"), checkSharedAuthorizer, "FunctionName is !GetAtt CreateTokenFunction.Arn"},
		{"a permission that exists without a source ARN is caught",
			removeAt(perm + ".Condition"), checkSharedAuthorizer, "Condition is <unset>, want HasSharedAuthorizerSourceArn"},
		{"a source pattern that lets every API in is caught",
			setTo("Parameters.SharedAuthorizerSourceArn.AllowedPattern", `"^.*$"`), checkSharedAuthorizer, `AllowedPattern accepts "arn:aws:execute-api:eu-west-1:123456789012:*/authorizers/*"`},
		{"a second permission is caught",
			setTo("Resources.AnotherInvoke", "{Type: AWS::Lambda::Permission, Properties: {Action: lambda:InvokeFunction, FunctionName: !GetAtt AuthorizerFunction.Arn, Principal: apigateway.amazonaws.com}}"),
			func(tpl *cfnTemplate) []string { return checkEventRules(tpl, ruleTable, permissionTable) }, "AnotherInvoke (AWS::Lambda::Permission) lets something invoke a function"},
		{"introspection trusting other keys than the authorizer is caught",
			setTo("Resources.IntrospectTokenFunction.Properties.Environment.Variables.TRUSTED_KEY_IDS", "!GetAtt SigningKeyA.Arn"), checkTrustedKeysAgree,
			"IntrospectTokenFunction: TRUSTED_KEY_IDS is !GetAtt SigningKeyA.Arn"},
		{"a JWKS publishing other keys than the authorizer trusts is caught",
			setTo("Resources.PublicKeysFunction.Properties.Environment.Variables.TRUSTED_KEY_IDS", "!Sub ${SigningKeyA.Arn},${SigningKeyB.Arn}"), checkTrustedKeysAgree,
			"PublicKeysFunction: TRUSTED_KEY_IDS is"},
	})
}
