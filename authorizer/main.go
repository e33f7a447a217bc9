// Command authorizer is the API Gateway Lambda (REQUEST) authorizer of every route.
package main

import (
	"context"

	"github.com/dcs-access/dcs-access/internal/app"
)

func main() {
	a, err := app.Authorizer(context.Background())
	if err != nil {
		app.Start(nil, err)
	}
	app.Start(a.Handle, nil)
}
