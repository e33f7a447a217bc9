// Command pipeline-steps is the Lambda function behind every Task state of
// the sandbox-refresh state machine. Each step reports to its run's record
// in the table, and the exposure figures to the metrics.
package main

import (
	"errors"

	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/pipeline"
	"github.com/dcs-access/dcs-access/internal/secrets"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	sm, secretsErr := secrets.FromEnv()
	store, storeErr := dynamo.FromEnv()
	metrics, metricsErr := pipeline.MetricsFromEnv()
	steps := pipeline.New(sm)
	steps.Records, steps.Metrics = store, metrics
	start.Lambda(steps.Handle, errors.Join(secretsErr, storeErr, metricsErr))
}
