// Command list-tokens is the Lambda function behind GET /api-tokens.
package main

import (
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/env"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	api.AllowOrigin(env.Or("CONSOLE_ORIGIN", ""))
	store, err := dynamo.FromEnv()
	start.Lambda(api.NewTokens(store, nil).List, err)
}
