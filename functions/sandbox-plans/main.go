// Command sandbox-plans is the Lambda function behind the /sandbox-plans
// routes. It checks each plan against Salesforce with the pipeline's own
// steps before storing it, so it reads the plan's Salesforce key too, and
// it points a plan that names no secrets at those stored for its sandbox
// (by name: DescribeSecret).
package main

import (
	"errors"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/env"
	"github.com/dcs-access/dcs-access/internal/pipeline"
	"github.com/dcs-access/dcs-access/internal/schedules"
	"github.com/dcs-access/dcs-access/internal/secrets"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	api.AllowOrigin(env.Or("CONSOLE_ORIGIN", ""))
	store, storeErr := dynamo.FromEnv()
	sched, schedErr := schedules.FromEnv()
	sm, smErr := secrets.FromEnv()
	steps := pipeline.New(sm)
	h := api.NewPlans(store, sched, steps.Validator, steps)
	h.Service.Secrets = sm // a plan gets the secrets its tenant's users stored for its sandbox
	start.Lambda(h.Routes().Handle, errors.Join(storeErr, schedErr, smErr))
}
