// Package templatecheck holds tests, and nothing else, that read template.yaml
// and check what cfn-lint cannot: that the root Makefile builds every function
// from its own package with the Lambda build flags, and that `sam build`
// runs those builds in source in every config env (copying nothing); that each function's
// environment is exactly what its code reads; that each function links
// exactly the AWS SDK services (and go-oidc) of an allowlist written in the
// tests, and a client of every service its grants name; that each function's and each
// state machine's permissions, IAM and key policy alike, are an allowlist
// written in the tests, in every combination of the parameters that choose
// the signing keys, with "*" only for actions AWS cannot scope, and so are
// every other role's (who may assume it, under what condition, and what it
// may do); that the plans' schedules run as the scheduler role and put
// their events on the bus whose request rule matches them; that the routes
// of the API are exactly the rows of internal/api's route table (which names
// the scope each needs), each behind the authorizer unless its row needs no
// authentication, and that the authorizer never caches a result; that
// every EventBridge rule invoking a function is in a rule table (bus,
// pattern, dead-letter queue) and nothing else may invoke one; that every
// schedule is a function's of a schedule table (expression, the role that
// may invoke that function only, a Timeout below what its work needs, an
// alarm on its errors); that each
// state machine matches its definition file (substitutions, task timeouts)
// and logs and traces; that throttles (one alarm per function, all alike)
// and failed runs raise alarms, within CloudWatch's limits; and that
// the token table is the one the DynamoDB store expects.
//
// Each check is a function from the parsed template to a list of problems,
// so the tests also run every check on mutated copies of the template to
// prove that it can fail.
package templatecheck
