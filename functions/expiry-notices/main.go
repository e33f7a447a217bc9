// Command expiry-notices is the Lambda function that EventBridge Scheduler
// runs every 15 minutes: it puts "API Token Expiring" and "API Token
// Expired" on the stack's bus for the tokens whose notice is due, each once
// (internal/notices).
package main

import (
	"errors"

	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/eventbus"
	"github.com/dcs-access/dcs-access/internal/notices"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	store, storeErr := dynamo.FromEnv()
	bus, busErr := eventbus.FromEnv()
	start.Lambda(notices.New(store, bus).HandleTick, errors.Join(storeErr, busErr))
}
