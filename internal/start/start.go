// Package start runs a Lambda function's handler. It imports aws-lambda-go
// and the standard library only, so a function links what its own wiring
// names and nothing more.
package start

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

// Lambda logs as JSON and runs handler as the Lambda function, or exits when
// wiring it failed (err), so a misconfigured function fails its cold start
// loudly instead of serving. handler is not used when err is set.
func Lambda(handler any, err error) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	if err != nil {
		slog.Error("cold start failed", "error", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
