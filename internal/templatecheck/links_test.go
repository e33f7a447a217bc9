package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/dcs-access/dcs-access/internal/awsjson"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/eventbus"
	"github.com/dcs-access/dcs-access/internal/kmskey"
	"github.com/dcs-access/dcs-access/internal/secrets"
	"github.com/dcs-access/dcs-access/internal/stepfunctions"
)

// sdkService is where the AWS SDK's service packages live: <sdkService><name>
// is a service's client, <sdkService><name>/... its types and serializers.
const sdkService = "github.com/aws/aws-sdk-go-v2/service/"

// oidcPackage is go-oidc, which only session verification needs.
const oidcPackage = "github.com/coreos/go-oidc/v3/oidc"

// awsjsonPackage is the module's own client of the AWS JSON protocols,
// relative to the module: a package that imports it calls a service
// without the SDK's client of that service (docs/performance.md says why).
const awsjsonPackage = "internal/awsjson"

// jsonCallers is, for each package of the module that imports
// internal/awsjson, the service it calls through it: the package's own
// Service, so that what is counted is what the code calls. A function that
// links one of these packages calls that service as surely as one that links
// the SDK's client. TestFunctionsLinkOnlyTheirClients keeps it exact: a
// linked package that imports awsjson and is not here fails, and so does an
// entry that no longer imports it.
var jsonCallers = map[string]awsjson.Service{
	"internal/ddb":           ddb.Service,
	"internal/kmskey":        kmskey.Service,
	"internal/secrets":       secrets.Service,
	"internal/eventbus":      eventbus.Service,
	"internal/stepfunctions": stepfunctions.Service,
}

// serviceName is how linkAllowlist and iamService name a service: as the
// SDK names its package, the service id in lower case without spaces
// ("Secrets Manager" is secretsmanager).
func serviceName(s awsjson.Service) string {
	return strings.ToLower(strings.ReplaceAll(s.ID, " ", ""))
}

// functionLinks is what one function's bootstrap may link.
type functionLinks struct {
	// SDK is every AWS SDK service of which it links a package (its client,
	// or only types another package uses).
	SDK []string
	// JSON is every service it calls through internal/awsjson (it links a
	// package of jsonCallers), by the SDK's name for it.
	JSON []string
	// OIDC is whether it links go-oidc.
	OIDC bool
}

// dynamoSDK is what a function that uses internal/dynamo links of the SDK:
// DynamoDB's types (AttributeValue, the exceptions), and DynamoDB Streams'
// types, which attributevalue (the store marshals items with it) links;
// neither service's client. The store calls DynamoDB through internal/ddb
// (awsjson): "dynamodb" in the function's JSON.
var dynamoSDK = []string{"dynamodb", "dynamodbstreams"}

// linkAllowlist is, for each function, exactly the AWS SDK services, the
// services called through awsjson, and the OIDC library its bootstrap
// links, by `go list -deps` of its package as the Makefile builds it. A
// function that starts linking one more (its wiring reaches for another
// adapter, a shared package starts importing one, or an adapter goes back to
// the SDK's client) shows up here, as a wider policy shows up in
// iamAllowlist.
var linkAllowlist = map[string]functionLinks{
	// Signs with KMS, writes the token.
	"CreateTokenFunction": {SDK: dynamoSDK, JSON: []string{"dynamodb", "kms"}},
	"ListTokensFunction":  {SDK: dynamoSDK, JSON: []string{"dynamodb"}},
	"DeleteTokenFunction": {SDK: dynamoSDK, JSON: []string{"dynamodb"}},
	// Reads and writes the tenant's POLICY item.
	"TenantPolicyFunction": {SDK: dynamoSDK, JSON: []string{"dynamodb"}},
	// Fetches the trusted public keys once, deletes as DeleteTokenFunction
	// does, announces each revocation on the bus.
	"RevokeLeakedTokensFunction": {SDK: dynamoSDK, JSON: []string{"dynamodb", "eventbridge", "kms"}},
	// Answers from the authorizer context, serves embedded files: no client.
	"WhoAmIFunction":  {},
	"ConsoleFunction": {},
	// Reads the token item, fetches the trusted public keys once, verifies
	// OIDC sessions (the JWKS fetch and cache are go-oidc's).
	"AuthorizerFunction": {SDK: dynamoSDK, JSON: []string{"dynamodb", "kms"}, OIDC: true},
	// The authorizer's decision on API tokens only: no sessions, no go-oidc.
	"IntrospectTokenFunction": {SDK: dynamoSDK, JSON: []string{"dynamodb", "kms"}},
	// Fetches the trusted public keys once.
	"PublicKeysFunction": {JSON: []string{"kms"}},
	// Stores plans, keeps their schedules (Scheduler is REST-JSON, on the
	// SDK), reads the plan's Salesforce key to check it.
	"SandboxPlansFunction": {SDK: append([]string{"scheduler"}, dynamoSDK...), JSON: []string{"dynamodb", "secretsmanager"}},
	// Starts, follows and redrives executions; announces nothing.
	"SandboxRefreshesFunction": {SDK: dynamoSDK, JSON: []string{"dynamodb", "sfn"}},
	// Starts requested runs and announces outcomes on the bus.
	"SandboxRefreshEventsFunction": {SDK: dynamoSDK, JSON: []string{"dynamodb", "eventbridge", "sfn"}},
	// Reads the plan's secrets and reports to the run's record; Salesforce
	// and DCS are plain HTTPS.
	"PipelineStepsFunction": {SDK: dynamoSDK, JSON: []string{"dynamodb", "secretsmanager"}},
	// Mints (KMS) and stores the pipeline's token, the plan's secrets.
	"PipelineSecretsFunction": {SDK: dynamoSDK, JSON: []string{"dynamodb", "kms", "secretsmanager"}},
	// Its secret's versions; the API it rotates through is plain HTTPS.
	"DcsTokenRotationFunction": {JSON: []string{"secretsmanager"}},
	// Finds and records the expiry notices due, and puts them on the bus.
	"ExpiryNoticesFunction": {SDK: dynamoSDK, JSON: []string{"dynamodb", "eventbridge"}},
	// Lists the audit trail.
	"ListAuditEventsFunction": {SDK: dynamoSDK, JSON: []string{"dynamodb"}},
	// Puts the stream's audit events on the bus: the records come in its
	// event (aws-lambda-go's types), so it links no DynamoDB package.
	"PublishAuditEventsFunction": {JSON: []string{"eventbridge"}},
}

// iamService is, for each IAM service prefix a function's grants use, the
// service whose client (the SDK's, or a package of jsonCallers) makes those
// calls; "" where no client of the function does (Lambda itself sends to
// the on-failure destination with the role; iam:PassRole is authorized on
// a Scheduler call, lambda:InvokeFunction on a Secrets Manager RotateSecret).
var iamService = map[string]string{
	"dynamodb":       "dynamodb",
	"kms":            "kms",
	"states":         "sfn",
	"events":         "eventbridge",
	"scheduler":      "scheduler",
	"secretsmanager": "secretsmanager",
	"sqs":            "",
	"iam":            "",
	"lambda":         "", // lambda:InvokeFunction is authorized on a RotateSecret call
}

// linkage is what a function's bootstrap is made of: every package it links,
// and those of them that import internal/awsjson.
type linkage struct {
	Deps        []string
	JSONCallers []string
}

// linked is what a linkage links, by service.
type linked struct {
	sdk        map[string]bool   // SDK services it has any package of
	sdkClients map[string]bool   // SDK services whose client (the root package) it links
	json       map[string]bool   // services it calls through awsjson
	clients    map[string]string // services it can call, and how ("the kms client")
	oidc       bool
	// undeclared are the packages that import awsjson but are not in
	// jsonCallers: what they call is not known.
	undeclared []string
}

// linkedBy reads what l links; module is the module path.
func linkedBy(module string, l linkage) linked {
	out := linked{sdk: map[string]bool{}, sdkClients: map[string]bool{}, json: map[string]bool{}, clients: map[string]string{}}
	for _, d := range l.Deps {
		if rest, ok := strings.CutPrefix(d, sdkService); ok {
			name, sub, _ := strings.Cut(rest, "/")
			if name == "internal" { // the SDK's own helpers, shared by every service
				continue
			}
			out.sdk[name] = true
			if sub == "" {
				out.sdkClients[name] = true
				out.clients[name] = "links the " + name + " client"
			}
		}
		out.oidc = out.oidc || d == oidcPackage
	}
	for _, pkg := range l.JSONCallers {
		rel := strings.TrimPrefix(pkg, module+"/")
		service, ok := jsonCallers[rel]
		if !ok {
			out.undeclared = append(out.undeclared, rel)
			continue
		}
		name := serviceName(service)
		out.json[name] = true
		if _, sdk := out.clients[name]; !sdk {
			out.clients[name] = "calls " + name + " through " + rel + " (awsjson)"
		}
	}
	return out
}

// compareSets reports the members of got that want lacks and those of want
// that got lacks.
func compareSets(got map[string]bool, want []string, extra, missing func(string) string) []string {
	var problems []string
	wanted := map[string]bool{}
	for _, s := range want {
		wanted[s] = true
	}
	for _, s := range slices.Sorted(maps.Keys(got)) {
		if !wanted[s] {
			problems = append(problems, extra(s))
		}
	}
	for _, s := range slices.Sorted(maps.Keys(wanted)) {
		if !got[s] {
			problems = append(problems, missing(s))
		}
	}
	return problems
}

// checkLinks checks that fnID's linkage links exactly what allowed says.
func checkLinks(fnID, module string, l linkage, allowed functionLinks) []string {
	got := linkedBy(module, l)
	var problems []string
	for _, pkg := range got.undeclared {
		problems = append(problems, fmt.Sprintf("%s links %s, which imports %s but has no entry in jsonCallers: add its Service there", fnID, pkg, awsjsonPackage))
	}
	problems = append(problems, compareSets(got.sdk, allowed.SDK,
		func(s string) string {
			return fmt.Sprintf("%s links the AWS SDK's %s (%s%s), which its SDK in linkAllowlist does not have: wire only what the function uses", fnID, s, sdkService, s)
		},
		func(s string) string {
			return fmt.Sprintf("%s no longer links the AWS SDK's %s: take it out of its SDK in linkAllowlist", fnID, s)
		})...)
	problems = append(problems, compareSets(got.json, allowed.JSON,
		func(s string) string {
			return fmt.Sprintf("%s calls %s through awsjson, which its JSON in linkAllowlist does not have: wire only what the function uses", fnID, s)
		},
		func(s string) string {
			return fmt.Sprintf("%s no longer calls %s through awsjson: take it out of its JSON in linkAllowlist", fnID, s)
		})...)
	for _, s := range slices.Sorted(maps.Keys(got.json)) {
		if got.sdkClients[s] {
			problems = append(problems, fmt.Sprintf("%s links the AWS SDK's %s client (%s%s) though it calls %s through awsjson: an adapter went back to the SDK's client (docs/performance.md says what that costs)", fnID, s, sdkService, s, s))
		}
	}
	switch {
	case got.oidc && !allowed.OIDC:
		problems = append(problems, fmt.Sprintf("%s links go-oidc (%s), which only session verification needs", fnID, oidcPackage))
	case !got.oidc && allowed.OIDC:
		problems = append(problems, fmt.Sprintf("%s no longer links go-oidc: set OIDC false in its entry in linkAllowlist", fnID))
	}
	return problems
}

// checkLinksMatchGrants checks that fnID has a client (the SDK's, or one
// through awsjson) of every service its role or the key policies let it
// call, and holds a grant of every service it has a client of: a client
// without a grant is dead weight, a grant without a client is privilege no
// code uses.
func checkLinksMatchGrants(fnID, module string, l linkage, grants []grant, keyUses []keyUse) []string {
	clients := linkedBy(module, l).clients
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
		if streamReadActions[a] {
			continue // Lambda's event source mapping polls the stream with the role
		}
		prefix, _, _ := strings.Cut(a, ":")
		service, known := iamService[prefix]
		switch {
		case !known:
			problems = append(problems, fmt.Sprintf("%s is granted %s, of a service iamService does not map to a client", fnID, a))
		case service == "":
		case clients[service] == "":
			problems = append(problems, fmt.Sprintf("%s is granted %s but has no %s client (the SDK's or through awsjson): no code of it can use the grant", fnID, a, service))
		default:
			granted[service] = true
		}
	}
	for _, c := range slices.Sorted(maps.Keys(clients)) {
		if !granted[c] {
			problems = append(problems, fmt.Sprintf("%s %s but is granted none of its actions", fnID, clients[c]))
		}
	}
	return problems
}

// checkJSONCallers checks that each of callers (entries of jsonCallers)
// is a package, as listed, that imports awsjson.
func checkJSONCallers(module string, listed map[string]listedPackage, callers []string) []string {
	var problems []string
	for _, c := range callers {
		if !slices.Contains(listed[module+"/"+c].Imports, module+"/"+awsjsonPackage) {
			problems = append(problems, fmt.Sprintf("jsonCallers has %s, which does not import %s: take it out", c, awsjsonPackage))
		}
	}
	return problems
}

// functionDeps returns, for each function of tpl, what its bootstrap links
// as the Makefile builds it; the module path; and the listing of those
// packages and of jsonCallers'.
func functionDeps(t *testing.T, root string, tpl *cfnTemplate) (map[string]linkage, string, map[string]listedPackage) {
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
	args := slices.Sorted(maps.Values(mains))
	for _, c := range slices.Sorted(maps.Keys(jsonCallers)) {
		args = append(args, module+"/"+c)
	}
	listed, err := goList(root, args...)
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]linkage{}
	for id, main := range mains {
		l := linkage{Deps: listed[main].Deps}
		for _, d := range l.Deps {
			if slices.Contains(listed[d].Imports, module+"/"+awsjsonPackage) {
				l.JSONCallers = append(l.JSONCallers, d)
			}
		}
		links[id] = l
	}
	return links, module, listed
}

func TestFunctionsLinkOnlyTheirClients(t *testing.T) {
	root, tpl := repoRoot(t), loadTemplate(t)
	links, module, listed := functionDeps(t, root, tpl)
	t.Run("every jsonCallers entry imports awsjson", func(t *testing.T) {
		report(t, checkJSONCallers(module, listed, slices.Sorted(maps.Keys(jsonCallers))))
	})
	for _, fn := range tpl.functions() {
		t.Run(fn.ID+" links exactly the SDK services and awsjson callers of its entry in linkAllowlist", func(t *testing.T) {
			allowed, ok := linkAllowlist[fn.ID]
			if !ok {
				got := linkedBy(module, links[fn.ID])
				t.Fatalf("%s has no entry in linkAllowlist: add one (it links the SDK's %v, calls %v through awsjson, go-oidc %v)",
					fn.ID, slices.Sorted(maps.Keys(got.sdk)), slices.Sorted(maps.Keys(got.json)), got.oidc)
			}
			report(t, checkLinks(fn.ID, module, links[fn.ID], allowed))
		})
		t.Run(fn.ID+" has a client of every service it is granted, and is granted each client it has", func(t *testing.T) {
			report(t, checkLinksMatchGrants(fn.ID, module, links[fn.ID], iamAllowlist[fn.ID], keyAllowlist[fn.ID]))
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
	links, module, listed := functionDeps(t, root, tpl)
	with := func(fnID string, more ...string) linkage {
		l := links[fnID]
		return linkage{Deps: append(slices.Clone(l.Deps), more...), JSONCallers: l.JSONCallers}
	}
	without := func(fnID, prefix string) linkage {
		l := links[fnID]
		drop := func(d string) bool { return strings.HasPrefix(d, prefix) }
		return linkage{Deps: slices.DeleteFunc(slices.Clone(l.Deps), drop), JSONCallers: slices.DeleteFunc(slices.Clone(l.JSONCallers), drop)}
	}
	calling := func(fnID string, callers ...string) linkage {
		l := links[fnID]
		for _, c := range callers {
			l = linkage{Deps: append(slices.Clone(l.Deps), module+"/"+c), JSONCallers: append(slices.Clone(l.JSONCallers), module+"/"+c)}
		}
		return l
	}
	for _, tc := range []struct {
		name     string
		problems []string
		want     string
	}{
		{"a function that links one more client is caught",
			checkLinks("WhoAmIFunction", module, with("WhoAmIFunction", sdkService+"dynamodb"), linkAllowlist["WhoAmIFunction"]), "WhoAmIFunction links the AWS SDK's dynamodb"},
		{"a function that links another service's types only is caught too",
			checkLinks("ListTokensFunction", module, with("ListTokensFunction", sdkService+"sfn/types"), linkAllowlist["ListTokensFunction"]), "ListTokensFunction links the AWS SDK's sfn"},
		{"a function that links go-oidc without verifying sessions is caught",
			checkLinks("ConsoleFunction", module, with("ConsoleFunction", oidcPackage), linkAllowlist["ConsoleFunction"]), "ConsoleFunction links go-oidc"},
		{"an allowlist that names an SDK client the function no longer links is caught",
			checkLinks("SandboxPlansFunction", module, without("SandboxPlansFunction", sdkService+"scheduler"), linkAllowlist["SandboxPlansFunction"]), "SandboxPlansFunction no longer links the AWS SDK's scheduler"},
		{"the SDK's shared helpers are no service",
			checkLinks("WhoAmIFunction", module, with("WhoAmIFunction", sdkService+"internal/accept-encoding"), linkAllowlist["WhoAmIFunction"]), ""},
		{"an adapter that goes back to the SDK's client is caught",
			checkLinks("AuthorizerFunction", module, with("AuthorizerFunction", sdkService+"kms"), linkAllowlist["AuthorizerFunction"]), "AuthorizerFunction links the AWS SDK's kms"},
		{"a function whose store goes back to the SDK's DynamoDB client is caught, though it links DynamoDB's types anyway",
			checkLinks("ListTokensFunction", module, with("ListTokensFunction", sdkService+"dynamodb"), linkAllowlist["ListTokensFunction"]), "ListTokensFunction links the AWS SDK's dynamodb client"},
		{"a function that calls one more service through awsjson is caught",
			checkLinks("ListTokensFunction", module, calling("ListTokensFunction", "internal/kmskey"), linkAllowlist["ListTokensFunction"]), "ListTokensFunction calls kms through awsjson"},
		{"an allowlist that names a service the function no longer calls through awsjson is caught",
			checkLinks("CreateTokenFunction", module, without("CreateTokenFunction", module+"/internal/kmskey"), linkAllowlist["CreateTokenFunction"]), "CreateTokenFunction no longer calls kms through awsjson"},
		{"a package that imports awsjson without an entry in jsonCallers is caught",
			checkLinks("WhoAmIFunction", module, calling("WhoAmIFunction", "internal/newadapter"), linkAllowlist["WhoAmIFunction"]), "links internal/newadapter, which imports internal/awsjson but has no entry in jsonCallers"},
		{"a jsonCallers entry that does not import awsjson is caught",
			checkJSONCallers(module, listed, []string{"internal/kmskey", "internal/dynamo"}), "jsonCallers has internal/dynamo, which does not import internal/awsjson"},
		{"the adapters of jsonCallers import awsjson",
			checkJSONCallers(module, listed, slices.Sorted(maps.Keys(jsonCallers))), ""},
		{"a grant of a service the function has no client of is caught",
			checkLinksMatchGrants("ListTokensFunction", module, links["ListTokensFunction"], append(slices.Clone(iamAllowlist["ListTokensFunction"]), grant{"states:StartExecution", "*", ""}), nil),
			"ListTokensFunction is granted states:StartExecution but has no sfn client"},
		{"a grant of a service whose awsjson caller the function no longer links is caught",
			checkLinksMatchGrants("CreateTokenFunction", module, without("CreateTokenFunction", module+"/internal/kmskey"), iamAllowlist["CreateTokenFunction"], keyAllowlist["CreateTokenFunction"]),
			"CreateTokenFunction is granted kms:Sign but has no kms client"},
		{"an SDK client the function is granted nothing of is caught",
			checkLinksMatchGrants("SandboxRefreshesFunction", module, with("SandboxRefreshesFunction", sdkService+"eventbridge"), iamAllowlist["SandboxRefreshesFunction"], nil),
			"SandboxRefreshesFunction links the eventbridge client but is granted none of its actions"},
		{"a service called through awsjson that the function is granted nothing of is caught",
			checkLinksMatchGrants("ListTokensFunction", module, calling("ListTokensFunction", "internal/kmskey"), iamAllowlist["ListTokensFunction"], nil),
			"ListTokensFunction calls kms through internal/kmskey (awsjson) but is granted none of its actions"},
		{"a key use counts as a grant of KMS",
			checkLinksMatchGrants("AuthorizerFunction", module, links["AuthorizerFunction"], iamAllowlist["AuthorizerFunction"], nil),
			"AuthorizerFunction calls kms through internal/kmskey (awsjson) but is granted none of its actions"},
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
