// Command delete-token is the Lambda function behind the matching /api-tokens route.
package main

import (
	"context"

	"github.com/dcs-access/dcs-access/internal/app"
)

func main() {
	h, err := app.DeleteToken(context.Background())
	if err != nil {
		app.Start(nil, err)
	}
	app.Start(h.Delete, nil)
}
