// Command whoami is the Lambda function behind GET /whoami: it answers from
// the authorizer context alone, so it has no client at all.
package main

import (
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/env"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	api.AllowOrigin(env.Or("CONSOLE_ORIGIN", ""))
	start.Lambda(api.WhoAmI, nil)
}
