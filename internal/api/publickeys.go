package api

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/apitoken"
)

// PublicKeysMaxAge is how long a client may keep the JWK Set before it asks
// again: short, because the set changes when a signing key is rotated (the
// other key enters it while TrustInactiveSigningKey is on, and leaves it
// when that is turned off; docs/security.md, "Public keys").
const PublicKeysMaxAge = 300

// PublicKeys serves GET /.well-known/jwks.json, without the authorizer: the
// JWK Set of the trusted signing keys (the map a Verifier is built on), by kid, so that a service can
// verify an API token's signature offline. Offline verification cannot see
// a deleted token: for that, a service asks POST /oauth/introspect or runs
// behind the shared authorizer.
func PublicKeys(trusted map[string]*ecdsa.PublicKey) (Handler, error) {
	set, err := apitoken.PublicJWKS(trusted)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	return func(_ context.Context, _ events.APIGatewayProxyRequest) (Response, error) {
		h := headers()
		h["Cache-Control"] = "public, max-age=" + strconv.Itoa(PublicKeysMaxAge)
		return Response{StatusCode: http.StatusOK, Headers: h, Body: string(body)}, nil
	}, nil
}
