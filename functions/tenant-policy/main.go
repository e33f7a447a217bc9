// Command tenant-policy is the Lambda function behind GET and PUT
// /tenant-policy: the tenant's token policy, which its administrators set
// and every token created or rotated is checked against.
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
	start.Lambda(api.NewTenantPolicy(store).Routes().Handle, err)
}
