// Command sandbox-plans is the Lambda function behind the /sandbox-plans routes.
package main

import (
	"context"

	"github.com/dcs-access/dcs-access/internal/app"
)

func main() {
	routes, err := app.Plans(context.Background())
	if err != nil {
		app.Start(nil, err)
	}
	app.Start(routes.Handle, nil)
}
