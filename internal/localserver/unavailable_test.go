package localserver_test

import (
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/localserver"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// When DynamoDB cannot be reached, the API says "try again" (503
// UNAVAILABLE), not "our bug" (500 INTERNAL); and the authorizer, which
// cannot check the token item, still never allows.
func TestAStoreThatCannotBeReachedIsA503AndNeverAnAllow(t *testing.T) {
	signingKey, sessionKey := key(t), key(t)
	client, table := testenv.Table(t)
	up, err := localserver.NewWith(dynamo.New(client, table, time.Now), signingKey, sessionKey, localserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	session := signIn(t, upSrv, "ada@example.com", "acme")
	_, created := call(t, upSrv, "POST", "/api-tokens", session, `{}`)
	token, _ := created["token"].(string)
	if status, _ := call(t, upSrv, "GET", "/whoami", token, ""); status != 200 {
		t.Fatalf("the positive control: whoami with the token while the store is up: got %d, want 200", status)
	}

	// The same stack (same keys) on a store where nothing listens.
	down, err := localserver.NewWith(unreachableStore(t, table), signingKey, sessionKey, localserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	downSrv := httptest.NewServer(down)
	t.Cleanup(downSrv.Close)

	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api-tokens", `{"description":"during the outage"}`},
		{"GET", "/api-tokens", ""},
		{"DELETE", "/api-tokens/0193f6b2-0000-7000-8000-000000000000", ""},
		{"GET", "/sandbox-plans", ""},
	} {
		status, out := call(t, downSrv, tc.method, tc.path, session, tc.body)
		if e, _ := out["error"].(map[string]any); status != 503 || e["code"] != "UNAVAILABLE" {
			t.Errorf("%s %s with the store down: got %d %v, want 503 UNAVAILABLE", tc.method, tc.path, status, out)
		}
	}
	status, out := call(t, downSrv, "GET", "/whoami", token, "")
	if e, _ := out["error"].(map[string]any); status != 503 || e["code"] != "UNAVAILABLE" {
		t.Errorf("whoami with an API token while the store is down: got %d %v, want 503 UNAVAILABLE (never an allow, and not a 401: the token may be fine)", status, out)
	}
}

// unreachableStore is a store of table on an address where nothing listens.
func unreachableStore(t *testing.T, table string) *dynamo.Store {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	ln.Close()
	client, err := ddb.New(awsconfig.Local(gone))
	if err != nil {
		t.Fatal(err)
	}
	return dynamo.New(client, table, time.Now)
}
