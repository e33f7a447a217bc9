package localserver_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/eventbus"
	"github.com/dcs-access/dcs-access/internal/localserver"
	"github.com/dcs-access/dcs-access/internal/testenv"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// leakStack is the local stack with its bus, answering leak reports without
// the one-second floor (tokens' own tests check that it is kept).
func leakStack(t *testing.T) (*httptest.Server, *eventbus.Memory, *testenv.Buffer) {
	t.Helper()
	client, table := testenv.Table(t)
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	s, err := localserver.NewWith(dynamo.New(client, table, time.Now), key(t), key(t), localserver.Config{Log: log, LeakAnswerFloor: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, s.Bus, logs
}

// answer is all of a response a caller sees.
type answer struct {
	status  int
	headers http.Header
	body    string
}

// report posts body to POST /api-tokens/revoke, with no credentials unless
// authorization is set.
func report(t *testing.T, srv *httptest.Server, body, authorization string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api-tokens/revoke", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	resp.Header.Del("Date")
	resp.Header.Del("Content-Length")
	return answer{resp.StatusCode, resp.Header, string(raw)}
}

func tokensBody(t *testing.T, list ...string) string {
	t.Helper()
	b, err := json.Marshal(map[string][]string{"tokens": list})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func leakEvents(t *testing.T, bus *eventbus.Memory) []tokens.RevokedAsLeaked {
	t.Helper()
	var out []tokens.RevokedAsLeaked
	for _, e := range bus.Events() {
		if e.DetailType != tokens.RevokedAsLeakedEvent {
			continue
		}
		if e.Source != eventbus.Source {
			t.Errorf("got an event from source %q, want %q", e.Source, eventbus.Source)
		}
		var d tokens.RevokedAsLeaked
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func flipSignature(token string) string {
	cut := strings.LastIndexByte(token, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(token[cut+1:])
	sig[7] ^= 0x01
	return token[:cut+1] + base64.RawURLEncoding.EncodeToString(sig)
}

func TestLeakRevocationAnswersTheSameWhateverTheTokens(t *testing.T) {
	srv, bus, logs := leakStack(t)
	ada, grace := signIn(t, srv, "ada@example.com", "acme"), signIn(t, srv, "grace@example.com", "globex")
	create := func(session, desc string) (token, id string) {
		t.Helper()
		status, out := call(t, srv, "POST", "/api-tokens", session, `{"description":"`+desc+`"}`)
		if status != 201 {
			t.Fatalf("create: got %d %v", status, out)
		}
		return out["token"].(string), out["id"].(string)
	}
	leaked, leakedID := create(ada, "laptop")
	kept, _ := create(grace, "ci")
	deleted, deletedID := create(ada, "old")
	if status, _ := call(t, srv, "DELETE", "/api-tokens/"+deletedID, ada, ""); status != 204 {
		t.Fatal("delete failed")
	}

	cases := []struct{ name, token string }{
		{"a malformed token", "not-a-token"},
		{"an empty string", ""},
		{"a forged signature on a live token's claims", flipSignature(leaked)},
		{"a session (another issuer)", ada},
		{"an already deleted token", deleted},
		{"a valid token", leaked},
		{"the same valid token, now revoked", leaked},
		{"a token of a few kilobytes of dots", strings.Repeat(".", 4000)},
	}
	var first answer
	for i, c := range cases {
		got := report(t, srv, tokensBody(t, c.token), "")
		if got.status != http.StatusAccepted || got.body != api.LeakAnswer {
			t.Errorf("%s: got %d %s, want 202 %s", c.name, got.status, got.body, api.LeakAnswer)
		}
		if i == 0 {
			first = got
			continue
		}
		if got.status != first.status || got.body != first.body || !maps.EqualFunc(got.headers, first.headers, slices.Equal) {
			t.Errorf("%s: got %+v, want exactly what %s got: %+v", c.name, got, cases[0].name, first)
		}
	}

	// The valid token is refused at once; the one nobody reported is not.
	if status, _ := call(t, srv, "GET", "/whoami", leaked, ""); status != http.StatusUnauthorized {
		t.Errorf("the revoked token: got %d, want 401", status)
	}
	if status, _ := call(t, srv, "GET", "/whoami", kept, ""); status != http.StatusOK {
		t.Errorf("a token not reported: got %d, want 200", status)
	}
	if status, list := call(t, srv, "GET", "/api-tokens", ada, ""); status != 200 || len(list["items"].([]any)) != 0 {
		t.Errorf("ada's tokens: got %d %v, want none left", status, list)
	}

	// One event for the one token revoked, naming it and its owner.
	want := []tokens.RevokedAsLeaked{{TokenID: leakedID, Tenant: "acme", Description: "laptop", User: "ada@example.com"}}
	if got := leakEvents(t, bus); !slices.Equal(got, want) {
		t.Fatalf("got events %+v, want %+v", got, want)
	}
	for _, e := range bus.Events() {
		if strings.Contains(string(e.Detail), leaked[strings.LastIndexByte(leaked, '.')+1:]) {
			t.Errorf("an event holds the token: %s", e.Detail)
		}
	}
	// Logged by id, never the token (the control: the revocation was logged).
	if !strings.Contains(logs.String(), "token revoked as leaked") || !strings.Contains(logs.String(), leakedID) {
		t.Fatalf("the logs do not hold the revocation, so they prove nothing: %s", logs.String())
	}
	for _, tk := range []string{leaked, deleted, flipSignature(leaked)} {
		if strings.Contains(logs.String(), tk[strings.LastIndexByte(tk, '.')+1:]) {
			t.Fatal("the logs contain a reported token")
		}
	}

	// Several tokens at once, one of them twice and among invalid ones: each
	// valid one is revoked and announced once. An Authorization header is
	// not looked at: the route has no authorizer.
	a, aID := create(grace, "a")
	b, bID := create(grace, "b")
	if got := report(t, srv, tokensBody(t, a, "junk", b, a, flipSignature(b)), "Bearer nonsense"); got.status != http.StatusAccepted || got.body != api.LeakAnswer {
		t.Fatalf("got %d %s, want 202", got.status, got.body)
	}
	var ids []string
	for _, e := range leakEvents(t, bus)[1:] {
		ids = append(ids, e.TokenID)
	}
	slices.Sort(ids)
	wantIDs := []string{aID, bID}
	slices.Sort(wantIDs)
	if !slices.Equal(ids, wantIDs) {
		t.Fatalf("got events for %v, want one each for %v", ids, wantIDs)
	}
	for _, tk := range []string{a, b} {
		if status, _ := call(t, srv, "GET", "/whoami", tk, ""); status != http.StatusUnauthorized {
			t.Errorf("a revoked token: got %d, want 401", status)
		}
	}
}

func TestABadLeakReportIsA400ThatRevokesNothing(t *testing.T) {
	srv, bus, _ := leakStack(t)
	session := signIn(t, srv, "ada@example.com", "acme")
	_, out := call(t, srv, "POST", "/api-tokens", session, `{"description":"ci"}`)
	valid := out["token"].(string)
	many := make([]string, tokens.MaxLeakReport+1)
	for i := range many {
		many[i] = valid
	}
	cases := []struct{ name, body, code string }{
		{"not JSON", `{"tokens": [`, "INVALID_BODY"},
		{"no body", ``, "INVALID_TOKENS"},
		{"no tokens", `{"tokens": []}`, "INVALID_TOKENS"},
		{"tokens null", `{"tokens": null}`, "INVALID_TOKENS"},
		{"more than 100 tokens", tokensBody(t, many...), "INVALID_TOKENS"},
		{"a token that is not a string", `{"tokens": [42]}`, "INVALID_BODY"},
		{"a list that is not a list", `{"tokens": "` + valid + `"}`, "INVALID_BODY"},
		{"another field", `{"tokens": [], "credentials": []}`, "INVALID_BODY"},
		{"a field in another case", `{"Tokens": ["x"]}`, "INVALID_BODY"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := report(t, srv, c.body, "")
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(got.body), &e); err != nil || got.status != http.StatusBadRequest || e.Error.Code != c.code {
				t.Fatalf("got %d %s, want 400 %s", got.status, got.body, c.code)
			}
			if strings.Contains(got.body, valid[strings.LastIndexByte(valid, '.')+1:]) {
				t.Errorf("the error echoes the token: %s", got.body)
			}
		})
	}
	if status, _ := call(t, srv, "GET", "/whoami", valid, ""); status != http.StatusOK {
		t.Fatalf("the token sent in the bad reports: got %d, want it still valid (200)", status)
	}
	if got := leakEvents(t, bus); len(got) != 0 {
		t.Fatalf("got events %+v, want none", got)
	}
	// The positive control: the same token in a good report is revoked.
	if got := report(t, srv, tokensBody(t, valid), ""); got.status != http.StatusAccepted {
		t.Fatalf("got %d %s, want 202", got.status, got.body)
	}
	if status, _ := call(t, srv, "GET", "/whoami", valid, ""); status != http.StatusUnauthorized {
		t.Fatalf("after a good report: got %d, want 401", status)
	}
}

func TestTheListShowsWhenAndFromWhereATokenWasLastUsed(t *testing.T) {
	srv, _ := stack(t)
	session := signIn(t, srv, "ada@example.com", "acme")
	_, created := call(t, srv, "POST", "/api-tokens", session, `{"description":"ci"}`)
	if created["lastUsedAt"] != nil || created["lastUsedText"] != "Never used" {
		t.Fatalf("a new token: got %v, want it never used", created)
	}
	if status, _ := call(t, srv, "GET", "/whoami", created["token"].(string), ""); status != 200 {
		t.Fatal("whoami failed")
	}
	_, list := call(t, srv, "GET", "/api-tokens", session, "")
	item := list["items"].([]any)[0].(map[string]any)
	if item["lastUsedIp"] != "127.0.0.1" || item["lastUsedAt"] == nil || !strings.HasPrefix(item["lastUsedText"].(string), "Last used on ") {
		t.Fatalf("after one use: got %v, want it used from 127.0.0.1", item)
	}
	// A session's requests are no use of any token.
	if status, _ := call(t, srv, "GET", "/whoami", session, ""); status != 200 {
		t.Fatal("whoami failed")
	}
}
