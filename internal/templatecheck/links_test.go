package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// sdkService is where the AWS SDK's service packages live: <sdkService><name>
// is a service's client, <sdkService><name>/... its types and serializers.
const sdkService = "github.com/aws/aws-sdk-go-v2/service/"

// oidcPackage is go-oidc, which only session verification needs.
const oidcPackage = "github.com/coreos/go-oidc/v3/oidc"

// functionLinks is what one function's bootstrap may link.
type functionLinks struct {
	// SDK is every AWS SDK service of which it links a package (its client,
	// or only types another package uses).
	SDK []string
	// OIDC is whether it links go-oidc.
	OIDC bool
}

// dynamoSDK is what a function that uses internal/dynamo links:
// attributevalue, which the store marshals items with, links DynamoDB
// Streams' types (not its client).
var dynamoSDK = []string{"dynamodb", "dynamodbstreams"}

// linkAllowlist is, for each function, exactly the AWS SDK services and
// OIDC library its bootstrap links, by `go list -deps` of its package as
// the Makefile builds it. A function that starts linking one more (its
// wiring reaches for another adapter, or a shared package starts importing
// one) shows up here, as a wider policy shows up in iamAllowlist.
var linkAllowlist = map[string]functionLinks{
	// Signs with KMS, writes the token.
	"CreateTokenFunction": {SDK: append([]string{"kms"}, dynamoSDK...)},
	"ListTokensFunction":  {SDK: dynamoSDK},
	"DeleteTokenFunction": {SDK: dynamoSDK},
	// Fetches the trusted public keys once, deletes as DeleteTokenFunction
	// does, announces each revocation on the bus.
	"RevokeLeakedTokensFunction": {SDK: append([]string{"eventbridge", "kms"}, dynamoSDK...)},
	// Answers from the authorizer context, serves embedded files: no client.
	"WhoAmIFunction":  {},
	"ConsoleFunction": {},
	// Reads the token item, fetches the trusted public keys once, verifies
	// OIDC sessions (the JWKS fetch and cache are go-oidc's).
	"AuthorizerFunction": {SDK: append([]string{"kms"}, dynamoSDK...), OIDC: true},
	// Stores plans, keeps their schedules, reads the plan's Salesforce key
	// to check it.
	"SandboxPlansFunction": {SDK: append([]string{"scheduler", "secretsmanager"}, dynamoSDK...)},
	// Starts, follows and redrives executions; announces nothing.
	"SandboxRefreshesFunction": {SDK: append([]string{"sfn"}, dynamoSDK...)},
	// Starts requested runs and announces outcomes on the bus.
	"SandboxRefreshEventsFunction": {SDK: append([]string{"eventbridge", "sfn"}, dynamoSDK...)},
	// Reads the plan's secrets and reports to the run's record; Salesforce
	// and DCS are plain HTTPS.
	"PipelineStepsFunction": {SDK: append([]string{"secretsmanager"}, dynamoSDK...)},
}

// iamService is, for each IAM service prefix a function's grants use, the
// SDK service whose client makes those calls; "" where no client of the
// function does (Lambda itself sends to the on-failure destination with
// the role; iam:PassRole is authorized on a Scheduler call).
var iamService = map[string]string{
	"dynamodb":       "dynamodb",
	"kms":            "kms",
	"states":         "sfn",
	"events":         "eventbridge",
	"scheduler":      "scheduler",
	"secretsmanager": "secretsmanager",
	"sqs":            "",
	"iam":            "",
}

// linkedBy returns what deps (a package's `go list -deps`) links: the SDK
// services it has any package of, those whose client it links, and whether
// it links go-oidc.
func linkedBy(deps []string) (services, clients map[string]bool, oidc bool) {
	services, clients = map[string]bool{}, map[string]bool{}
	for _, d := range deps {
		if rest, ok := strings.CutPrefix(d, sdkService); ok {
			name, sub, _ := strings.Cut(rest, "/")
			if name == "internal" { // the SDK's own helpers, shared by every service
				continue
			}
			services[name] = true
			if sub == "" {
				clients[name] = true
			}
		}
		oidc = oidc || d == oidcPackage
	}
	return services, clients, oidc
}

// checkLinks checks that fnID's dependencies link exactly what allowed says.
func checkLinks(fnID string, deps []string, allowed functionLinks) []string {
	services, _, oidc := linkedBy(deps)
	var problems []string
	want := map[string]bool{}
	for _, s := range allowed.SDK {
		want[s] = true
	}
	for _, s := range slices.Sorted(maps.Keys(services)) {
		if !want[s] {
			problems = append(problems, fmt.Sprintf("%s links the AWS SDK's %s (%s%s), which its entry in linkAllowlist does not have: wire only what the function uses", fnID, s, sdkService, s))
		}
	}
	for _, s := range slices.Sorted(maps.Keys(want)) {
		if !services[s] {
			problems = append(problems, fmt.Sprintf("%s no longer links the AWS SDK's %s: take it out of its entry in linkAllowlist", fnID, s))
		}
	}
	switch {
	case oidc && !allowed.OIDC:
		problems = append(problems, fmt.Sprintf("%s links go-oidc (%s), which only session verification needs", fnID, oidcPackage))
	case !oidc && allowed.OIDC:
		problems = append(problems, fmt.Sprintf("%s no longer links go-oidc: set OIDC false in its entry in linkAllowlist", fnID))
	}
	return problems
}

// checkLinksMatchGrants checks that fnID links a client of every service its
// role or the key policies let it call, and holds a grant of every service
// whose client it links: a client without a grant is dead weight, a grant
// without a client is privilege no code uses.
func checkLinksMatchGrants(fnID string, deps []string, grants []grant, keyUses []keyUse) []string {
	_, clients, _ := linkedBy(deps)
	granted := map[string]bool{}
	var problems []string
	actions := []string{}
	for _, g := range grants {
		actions = append(actions, g.Action)
	}
	for _, k := range keyUses {
		actions = append(actions, k.Action)
	}
	for _, a := range actions {
		prefix, _, _ := strings.Cut(a, ":")
		service, known := iamService[prefix]
		switch {
		case !known:
			problems = append(problems, fmt.Sprintf("%s is granted %s, of a service iamService does not map to an SDK client", fnID, a))
		case service == "":
		case !clients[service]:
			problems = append(problems, fmt.Sprintf("%s is granted %s but links no %s client: no code of it can use the grant", fnID, a, service))
		default:
			granted[service] = true
		}
	}
	for _, c := range slices.Sorted(maps.Keys(clients)) {
		if !granted[c] {
			problems = append(problems, fmt.Sprintf("%s links the %s client but is granted none of its actions", fnID, c))
		}
	}
	return problems
}

// functionDeps returns, for each function of tpl, the packages its bootstrap
// links, as the Makefile builds it.
func functionDeps(t *testing.T, root string, tpl *cfnTemplate) map[string][]string {
	t.Helper()
	module, err := modulePath(root)
	if err != nil {
		t.Fatal(err)
	}
	mains := map[string]string{}
	for _, fn := range tpl.functions() {
		pkg, err := buildPackage(root, fn.ID)
		if err != nil {
			t.Fatalf("%s: no package (see TestFunctionsAreBuiltByTheMakefile): %v", fn.ID, err)
		}
		mains[fn.ID] = module + "/" + strings.TrimPrefix(pkg, "./")
	}
	listed, err := goList(root, slices.Sorted(maps.Values(mains))...)
	if err != nil {
		t.Fatal(err)
	}
	deps := map[string][]string{}
	for id, main := range mains {
		deps[id] = listed[main].Deps
	}
	return deps
}

func TestFunctionsLinkOnlyTheirClients(t *testing.T) {
	root, tpl := repoRoot(t), loadTemplate(t)
	deps := functionDeps(t, root, tpl)
	for _, fn := range tpl.functions() {
		t.Run(fn.ID+" links exactly the SDK services of its entry in linkAllowlist", func(t *testing.T) {
			allowed, ok := linkAllowlist[fn.ID]
			if !ok {
				services, _, oidc := linkedBy(deps[fn.ID])
				t.Fatalf("%s has no entry in linkAllowlist: add one (it links %v, go-oidc %v)", fn.ID, slices.Sorted(maps.Keys(services)), oidc)
			}
			report(t, checkLinks(fn.ID, deps[fn.ID], allowed))
		})
		t.Run(fn.ID+" links a client of every service it is granted, and is granted each client it links", func(t *testing.T) {
			report(t, checkLinksMatchGrants(fn.ID, deps[fn.ID], iamAllowlist[fn.ID], keyAllowlist[fn.ID]))
		})
	}
	t.Run("every linkAllowlist entry is a function of the template", func(t *testing.T) {
		for _, id := range slices.Sorted(maps.Keys(linkAllowlist)) {
			if !isFunction(tpl, id) {
				t.Errorf("linkAllowlist has %s, which is not a function of the template", id)
			}
		}
	})
}

func TestLinkChecksCatchMutations(t *testing.T) {
	root, tpl := repoRoot(t), loadTemplate(t)
	deps := functionDeps(t, root, tpl)
	with := func(fnID string, more ...string) []string { return append(slices.Clone(deps[fnID]), more...) }
	without := func(fnID, prefix string) []string {
		return slices.DeleteFunc(slices.Clone(deps[fnID]), func(d string) bool { return strings.HasPrefix(d, prefix) })
	}
	for _, tc := range []struct {
		name     string
		problems []string
		want     string
	}{
		{"a function that links one more client is caught",
			checkLinks("WhoAmIFunction", with("WhoAmIFunction", sdkService+"dynamodb"), linkAllowlist["WhoAmIFunction"]), "WhoAmIFunction links the AWS SDK's dynamodb"},
		{"a function that links another service's types only is caught too",
			checkLinks("ListTokensFunction", with("ListTokensFunction", sdkService+"sfn/types"), linkAllowlist["ListTokensFunction"]), "ListTokensFunction links the AWS SDK's sfn"},
		{"a function that links go-oidc without verifying sessions is caught",
			checkLinks("ConsoleFunction", with("ConsoleFunction", oidcPackage), linkAllowlist["ConsoleFunction"]), "ConsoleFunction links go-oidc"},
		{"an allowlist that names a client the function no longer links is caught",
			checkLinks("CreateTokenFunction", without("CreateTokenFunction", sdkService+"kms"), linkAllowlist["CreateTokenFunction"]), "CreateTokenFunction no longer links the AWS SDK's kms"},
		{"the SDK's shared helpers are no service",
			checkLinks("WhoAmIFunction", with("WhoAmIFunction", sdkService+"internal/accept-encoding"), linkAllowlist["WhoAmIFunction"]), ""},
		{"a grant of a service the function has no client of is caught",
			checkLinksMatchGrants("ListTokensFunction", deps["ListTokensFunction"], append(slices.Clone(iamAllowlist["ListTokensFunction"]), grant{"states:StartExecution", "*", ""}), nil),
			"ListTokensFunction is granted states:StartExecution but links no sfn client"},
		{"a client the function is granted nothing of is caught",
			checkLinksMatchGrants("SandboxRefreshesFunction", with("SandboxRefreshesFunction", sdkService+"eventbridge"), iamAllowlist["SandboxRefreshesFunction"], nil),
			"SandboxRefreshesFunction links the eventbridge client but is granted none of its actions"},
		{"a key use counts as a grant of KMS",
			checkLinksMatchGrants("AuthorizerFunction", deps["AuthorizerFunction"], iamAllowlist["AuthorizerFunction"], nil),
			"AuthorizerFunction links the kms client but is granted none of its actions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				if len(tc.problems) != 0 {
					t.Errorf("got problems %q, want none", tc.problems)
				}
				return
			}
			if !hasProblem(tc.problems, tc.want) {
				t.Errorf("got problems %q, want one containing %q", tc.problems, tc.want)
			}
		})
	}
}
