// Command whoami is the Lambda function behind GET /whoami.
package main

import (
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/app"
)

func main() {
	app.Start(api.WhoAmI, nil)
}
