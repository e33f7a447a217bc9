// Command pipeline-steps is the Lambda function behind every Task state of
// the sandbox-refresh state machine.
package main

import (
	"context"

	"github.com/dcs-access/dcs-access/internal/app"
)

func main() {
	steps, err := app.PipelineSteps(context.Background())
	if err != nil {
		app.Start(nil, err)
	}
	app.Start(steps.Handle, nil)
}
