package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// ErrIssuerUnavailable is returned (wrapped in an access.EUNAVAILABLE error)
// when a session could not be
// checked because the issuer's keys could not be fetched: a network error, a
// timeout, or any answer but 200 from its JWKS URL (a Cognito outage, a
// throttled fetch). That is no verdict on the session, so the authorizer
// answers it as a failure to decide (503, retry), never as a 401 that would
// tell a signed-in user to sign in again.
var ErrIssuerUnavailable = errors.New("the session issuer's keys could not be fetched")

// RemoteKeys is the issuer's JWK Set at jwksURL, fetched and cached by
// go-oidc's RemoteKeySet (which refetches on a key it does not know), whose
// fetch failures Verify tells apart from bad sessions. go-oidc's verifier
// formats its key set's error with %v, so the failure cannot travel in the
// error itself: the key set marks it on the verification's context instead.
func RemoteKeys(jwksURL string) oidc.KeySet {
	// Under the authorizer's 5 s Lambda timeout, so a hung issuer is a 503
	// rather than a timed-out invocation.
	hc := &http.Client{Timeout: 3 * time.Second, Transport: failedFetches{http.DefaultTransport}}
	return remoteKeys{oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), hc), jwksURL)}
}

type remoteKeys struct{ keys *oidc.RemoteKeySet }

func (r remoteKeys) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := r.keys.VerifySignature(ctx, jwt)
	if err != nil && (errors.Is(err, ErrIssuerUnavailable) || ctx.Err() != nil) {
		if m, ok := ctx.Value(fetchFailedKey{}).(*bool); ok {
			*m = true
		}
	}
	return payload, err
}

// fetchFailedKey holds, in a verification's context, whether the key set
// could not fetch the issuer's keys during it.
type fetchFailedKey struct{}

// failedFetches makes every fetch that does not end in a 200 an error wrapping
// ErrIssuerUnavailable; go-oidc wraps a transport's error with %w up to its
// key set (and turns a non-200 answer into an error without a type).
type failedFetches struct{ next http.RoundTripper }

func (f failedFetches) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.next.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIssuerUnavailable, err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
		return resp, nil // a redirect, which the client follows (the transport sees each hop)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s answered %s", ErrIssuerUnavailable, req.URL.Redacted(), resp.Status)
	}
	return resp, nil
}
