// Command list-audit-events is the Lambda function behind GET /audit-events:
// the tenant's audit trail (internal/audit).
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
	start.Lambda(api.NewAudit(store).List, err)
}
