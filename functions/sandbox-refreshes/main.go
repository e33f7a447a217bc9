// Command sandbox-refreshes is the Lambda function behind the
// /sandbox-refreshes routes: it starts, lists, describes and redrives runs.
// The events that start runs and end them go to sandbox-refresh-events.
package main

import (
	"errors"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/env"
	"github.com/dcs-access/dcs-access/internal/start"
	"github.com/dcs-access/dcs-access/internal/stepfunctions"
)

func main() {
	api.AllowOrigin(env.Or("CONSOLE_ORIGIN", ""))
	store, storeErr := dynamo.FromEnv()
	machine, machineErr := stepfunctions.FromEnv()
	// No bus: the routes announce nothing.
	start.Lambda(api.NewRuns(store, machine, nil).Routes().Handle, errors.Join(storeErr, machineErr))
}
