// Command sandbox-refreshes is the Lambda function behind the
// /sandbox-refreshes routes and the "Sandbox Refresh Requested" events.
package main

import (
	"context"

	"github.com/dcs-access/dcs-access/internal/app"
)

func main() {
	handler, err := app.Refreshes(context.Background())
	if err != nil {
		app.Start(nil, err)
	}
	app.Start(handler, nil)
}
