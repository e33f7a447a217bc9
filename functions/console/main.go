// Command console is the Lambda function behind GET / and GET /{proxy+}: the
// web console's static page and its /config.json, and the API's description
// at /openapi.yaml. It runs without the authorizer: the page holds no data,
// and signs the user in itself.
package main

import (
	"github.com/dcs-access/dcs-access/internal/console"
	"github.com/dcs-access/dcs-access/internal/env"
	"github.com/dcs-access/dcs-access/internal/openapi"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	page, err := wire()
	start.Lambda(openapi.WithDocument(page), err)
}

// wire reads the console's configuration here, in main, so the template
// check (internal/templatecheck) sees every variable the function reads.
func wire() (console.LambdaHandler, error) {
	cfg := console.Config{
		Mode:           console.ModeOIDC,
		LogoutEndpoint: env.Or("OIDC_LOGOUT_ENDPOINT", ""),
		Origin:         env.Or("CONSOLE_ORIGIN", ""),
	}
	var err error
	if cfg.AuthorizationEndpoint, err = env.Must("OIDC_AUTHORIZATION_ENDPOINT"); err != nil {
		return nil, err
	}
	if cfg.TokenEndpoint, err = env.Must("OIDC_TOKEN_ENDPOINT"); err != nil {
		return nil, err
	}
	if cfg.ClientID, err = env.Must("OIDC_CLIENT_ID"); err != nil {
		return nil, err
	}
	return console.Lambda(cfg)
}
