// Command sandbox-refresh-events is the Lambda function behind the
// EventBridge rules of the sandbox-refresh pipeline: "Sandbox Refresh
// Requested" starts a run (an EventBridge target cannot name the execution:
// this function does, so a redelivered request starts nothing new), and Step
// Functions' status changes announce how runs ended.
package main

import (
	"errors"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/eventbus"
	"github.com/dcs-access/dcs-access/internal/start"
	"github.com/dcs-access/dcs-access/internal/stepfunctions"
)

func main() {
	store, storeErr := dynamo.FromEnv()
	machine, machineErr := stepfunctions.FromEnv()
	bus, busErr := eventbus.FromEnv()
	start.Lambda(api.NewRuns(store, machine, bus).HandleEvent, errors.Join(storeErr, machineErr, busErr))
}
