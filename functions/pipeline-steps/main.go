// Command pipeline-steps is the Lambda function behind every Task state of
// the sandbox-refresh state machine.
package main

import (
	"github.com/dcs-access/dcs-access/internal/pipeline"
	"github.com/dcs-access/dcs-access/internal/secrets"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	sm, err := secrets.FromEnv()
	start.Lambda(pipeline.New(sm).Handle, err)
}
