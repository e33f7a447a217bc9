package salesforce_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/dcs-access/dcs-access/internal/salesforce"
	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
)

const (
	consumerKey     = "3MVG9simulated.consumer.key"
	integrationUser = "integration@acme.example"
)

// keys are generated once: RSA key generation is slow under -race.
var keys = sync.OnceValues(func() (trusted, untrusted *rsa.PrivateKey) {
	var err error
	if trusted, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if untrusted, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	return trusted, untrusted
})

// fixture is a simulator on a loopback server that trusts the test key and
// knows the integration user.
type fixture struct {
	sim *sfsim.Sim
	srv *httptest.Server
}

func newFixture(t *testing.T, opts sfsim.Options) *fixture {
	t.Helper()
	trusted, _ := keys()
	sim := sfsim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.SetBaseURL(srv.URL)
	sim.TrustKey(consumerKey, &trusted.PublicKey)
	sim.AddProdUsers(sfsim.User{Username: integrationUser, Profile: "System Administrator"})
	return &fixture{sim: sim, srv: srv}
}

func (f *fixture) config(username string) salesforce.Config {
	trusted, _ := keys()
	return salesforce.Config{
		LoginURL:    f.srv.URL,
		Audience:    audienceOf(username),
		ConsumerKey: consumerKey,
		Username:    username,
		PrivateKey:  trusted,
		HTTPClient:  f.srv.Client(),
	}
}

// audienceOf is the assertion audience for username: the sandbox one for the
// integration user's sandbox copies (integration@acme.example.<sandbox>).
func audienceOf(username string) string {
	if strings.HasPrefix(username, integrationUser+".") {
		return salesforce.AudienceSandbox
	}
	return salesforce.AudienceProduction
}

func (f *fixture) connect(t *testing.T, username string) *salesforce.Client {
	t.Helper()
	c, err := salesforce.Connect(context.Background(), f.config(username))
	if err != nil {
		t.Fatalf("Connect(%s): %v", username, err)
	}
	return c
}

// addUsers adds n active production users user000@acme.example … and returns their ids.
func (f *fixture) addUsers(n int) []string {
	users := make([]sfsim.User, n)
	for i := range users {
		users[i] = sfsim.User{Username: fmt.Sprintf("user%03d@acme.example", i)}
	}
	return f.sim.AddProdUsers(users...)
}

// apiError returns err's *APIError, failing the test if there is none.
func apiError(t *testing.T, err error) *salesforce.APIError {
	t.Helper()
	var e *salesforce.APIError
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	return e
}
