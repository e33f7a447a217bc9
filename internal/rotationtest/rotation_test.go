package rotationtest

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/authorizer"
	"github.com/dcs-access/dcs-access/internal/testenv"
	"github.com/dcs-access/dcs-access/internal/tokens"
	"github.com/dcs-access/dcs-access/internal/tokentest"
)

const methodARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/v1/POST/api-tokens/x/rotate"

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// world is one stack: a fresh table, the handlers and the authorizer, on a
// clock that only the test moves.
type world struct {
	*tokentest.World
	clock    *testenv.Clock
	handlers *api.Tokens
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := tokentest.New(t, t0)
	return &world{World: w, clock: w.Clock, handlers: &api.Tokens{Service: w.Tokens, Now: w.Clock.Now}}
}

// session signs user of acme in.
func (w *world) session(t *testing.T, user string) string {
	t.Helper()
	return w.Session(t, user, "acme")
}

// works reports whether the authorizer lets bearer in now.
func (w *world) works(t *testing.T, bearer string) bool {
	t.Helper()
	return w.Works(t, bearer)
}

// call sends a request through the authorizer, as API Gateway does, to
// the route ("POST /api-tokens/{id}/rotate"); a bearer the authorizer
// refuses fails the test.
func (w *world) call(t *testing.T, route, bearer string, req events.APIGatewayProxyRequest) api.Response {
	t.Helper()
	p, err := w.Auth.Authenticate(context.Background(), "Bearer "+bearer)
	if err != nil {
		t.Fatalf("the authorizer refused the caller: %v", err)
	}
	req.HTTPMethod, req.Resource, _ = strings.Cut(route, " ")
	req.RequestContext.Authorizer = authorizer.Allow(p, methodARN).Context
	handlers := api.Router{
		"POST /api-tokens": w.handlers.Create, "POST /api-tokens/{id}/rotate": w.handlers.Rotate,
		"GET /api-tokens": w.handlers.List, "DELETE /api-tokens/{id}": w.handlers.Delete,
	}
	resp, err := handlers.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// view is a token as the API answers it.
type view struct {
	Token          string   `json:"token"`
	ID             string   `json:"id"`
	Description    string   `json:"description"`
	AssociatedUser string   `json:"associatedUser"`
	CreatedAt      string   `json:"createdAt"`
	ExpiresAt      *string  `json:"expiresAt"`
	Status         string   `json:"status"`
	StatusText     string   `json:"statusText"`
	Scopes         []string `json:"scopes"`
	RotatedFrom    string   `json:"rotatedFrom"`
	ReplacedBy     string   `json:"replacedBy"`
	WorksUntil     *string  `json:"worksUntil"`
	Previous       *view    `json:"previous"`
}

func decode[T any](t *testing.T, resp api.Response, status int) T {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, status)
	}
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return v
}

func errorCode(t *testing.T, resp api.Response) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("got body %q, want the error shape", resp.Body)
	}
	return e.Error.Code
}

// create makes a token as a signed-in user would.
func (w *world) create(t *testing.T, bearer, body string) view {
	t.Helper()
	return decode[view](t, w.call(t, "POST /api-tokens", bearer, events.APIGatewayProxyRequest{Body: body}), http.StatusCreated)
}

// rotate asks to rotate token id with bearer.
func (w *world) rotate(t *testing.T, bearer, id, body string, headers map[string]string) api.Response {
	t.Helper()
	return w.call(t, "POST /api-tokens/{id}/rotate", bearer, events.APIGatewayProxyRequest{
		Body: body, PathParameters: map[string]string{"id": id}, Headers: headers,
	})
}

// list returns the tenant's tokens, newest first.
func (w *world) list(t *testing.T, bearer string) []view {
	t.Helper()
	return decode[struct{ Items []view }](t, w.call(t, "GET /api-tokens", bearer, events.APIGatewayProxyRequest{}), http.StatusOK).Items
}

// items returns every item of the table, as "sk" -> item, for checking
// that a refused request wrote nothing.
func (w *world) items(t *testing.T) map[string]map[string]types.AttributeValue {
	t.Helper()
	out, err := w.Client.Scan(context.Background(), &dynamodb.ScanInput{TableName: &w.Table, ConsistentRead: new(true)})
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]map[string]types.AttributeValue{}
	for _, it := range out.Items {
		if strings.HasPrefix(it["pk"].(*types.AttributeValueMemberS).Value, "AUDIT#") {
			continue // the changes' audit events (auditRotations counts the rotations')
		}
		items[it["sk"].(*types.AttributeValueMemberS).Value] = it
	}
	return items
}

// auditRotations counts the audit events of rotations in the table.
func (w *world) auditRotations(t *testing.T) int {
	t.Helper()
	out, err := w.Client.Scan(context.Background(), &dynamodb.ScanInput{TableName: &w.Table, ConsistentRead: new(true)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range out.Items {
		if gsi, ok := it["gsi1pk"].(*types.AttributeValueMemberS); ok && strings.HasPrefix(gsi.Value, "AUDIT#") && strings.HasSuffix(gsi.Value, "#api-token.rotated") {
			n++
		}
	}
	return n
}

func sameItems(a, b map[string]map[string]types.AttributeValue) bool {
	var x, y map[string]map[string]any
	if attributevalue.UnmarshalMap(flatten(a), &x) != nil || attributevalue.UnmarshalMap(flatten(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// flatten makes items one item of items, to unmarshal them in one call.
func flatten(items map[string]map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for k, it := range items {
		out[k] = &types.AttributeValueMemberM{Value: it}
	}
	return out
}

func TestAnOldTokenWorksUntilItsOverlapEndsAndNotASecondLonger(t *testing.T) {
	w := newWorld(t)
	ada := w.session(t, "ada@example.com")
	old := w.create(t, ada, `{"description":"nightly masking","lifespanDays":30}`)
	w.clock.Add(10 * 24 * time.Hour) // ten days into its life
	rotatedAt := w.clock.Now()
	ada = w.session(t, "ada@example.com")

	// The token rotates itself, as a CI job renews its own credential.
	got := decode[view](t, w.rotate(t, old.Token, old.ID, `{"overlapMinutes":60}`, nil), http.StatusCreated)
	if got.Token == "" || got.Token == old.Token || got.ID == old.ID {
		t.Fatalf("got token %q id %s, want a new token", got.Token, got.ID)
	}
	if got.Description != "nightly masking" || got.AssociatedUser != "ada@example.com" || got.RotatedFrom != old.ID {
		t.Errorf("got %+v, want the old token's description and user, rotated from %s", got, old.ID)
	}
	if want := rotatedAt.AddDate(0, 0, 30).Format(time.RFC3339); got.ExpiresAt == nil || *got.ExpiresAt != want {
		t.Errorf("got expiresAt %v, want %s: the same 30-day lifespan, counted from the rotation", got.ExpiresAt, want)
	}
	until := rotatedAt.Add(time.Hour)
	if p := got.Previous; p == nil || p.ID != old.ID || p.ReplacedBy != got.ID || p.WorksUntil == nil || *p.WorksUntil != until.Format(time.RFC3339) {
		t.Fatalf("got previous %+v, want the old token replaced by %s, working until %s", got.Previous, got.ID, until)
	}

	// The list shows both, the new one first, the old one with its cutoff.
	listed := w.list(t, ada)
	if len(listed) != 2 || listed[0].ID != got.ID || listed[1].ID != old.ID {
		t.Fatalf("got %+v, want the new token then the old one", listed)
	}
	if s := listed[1]; s.Status != "Enabled" || s.StatusText != "Enabled - Replaced, works until "+until.Format("Jan 02, 2006 15:04") {
		t.Errorf("got the old token's status %q / %q, want it enabled, replaced, with its cutoff", s.Status, s.StatusText)
	}
	if s := listed[0]; s.Status != "Enabled" || s.StatusText != "Enabled - Expires on "+rotatedAt.AddDate(0, 0, 30).Format("Jan 02, 2006 15:04") {
		t.Errorf("got the new token's status %q / %q", s.Status, s.StatusText)
	}

	w.clock.Add(time.Hour - time.Second)
	if !w.works(t, old.Token) {
		t.Fatal("the old token is refused one second before its overlap ends")
	}
	w.clock.Add(time.Second)
	if w.works(t, old.Token) {
		t.Fatal("the old token works at the end of its overlap")
	}
	w.clock.Add(time.Second)
	if w.works(t, old.Token) {
		t.Fatal("the old token works one second after its overlap ended")
	}
	if !w.works(t, got.Token) {
		t.Fatal("the new token is refused")
	}
	if !strings.Contains(w.Log.String(), "was replaced by "+got.ID) {
		t.Errorf("the authorizer logged %q, want the reason of the denial", w.Log.String())
	}
	if strings.Contains(w.Log.String(), old.Token) || strings.Contains(w.Log.String(), got.Token) {
		t.Error("a token string is in the log")
	}
	if s := w.list(t, w.session(t, "ada@example.com"))[1]; s.Status != "Replaced" || s.StatusText != "Replaced" {
		t.Errorf("got the old token's status %q / %q after its overlap, want Replaced", s.Status, s.StatusText)
	}
}

func TestAnOverlapOfZeroRevokesTheOldTokenAtOnce(t *testing.T) {
	w := newWorld(t)
	ada := w.session(t, "ada@example.com")
	old := w.create(t, ada, `{"description":"deploy bot"}`)
	for _, body := range []string{`{"overlapMinutes":0}`, `{}`, ``, `{"overlapMinutes":null}`} {
		t.Run("with the body "+body, func(t *testing.T) {
			got := decode[view](t, w.rotate(t, ada, old.ID, body, nil), http.StatusCreated)
			if w.works(t, old.Token) {
				t.Fatal("the old token works after a rotation without overlap")
			}
			if !w.works(t, got.Token) {
				t.Fatal("the new token is refused")
			}
			if got.ExpiresAt != nil {
				t.Errorf("got expiresAt %s, want none: the old token never expired", *got.ExpiresAt)
			}
			if p := got.Previous; p == nil || p.Status != "Replaced" || p.WorksUntil == nil || *p.WorksUntil != w.clock.Now().Format(time.RFC3339) {
				t.Errorf("got previous %+v, want it replaced as of now", got.Previous)
			}
			if listed := w.list(t, ada); len(listed) != 1 || listed[0].ID != got.ID {
				t.Fatalf("got %+v, want only the new token listed: the old one is revoked", listed)
			}
			if resp := w.rotate(t, ada, old.ID, `{}`, nil); resp.StatusCode != http.StatusNotFound || errorCode(t, resp) != "NOT_FOUND" {
				t.Fatalf("rotating the revoked token: got %d %s, want 404 NOT_FOUND", resp.StatusCode, resp.Body)
			}
			old = got // the next case rotates the new one
		})
	}
}

func TestAnOverlapNeverOutlivesTheOldTokensExpiry(t *testing.T) {
	w := newWorld(t)
	ada := w.session(t, "ada@example.com")
	old := w.create(t, ada, `{"description":"short","lifespanDays":1}`)
	w.clock.Add(23 * time.Hour)
	got := decode[view](t, w.rotate(t, w.session(t, "ada@example.com"), old.ID, `{"overlapMinutes":10080}`, nil), http.StatusCreated)
	if want := t0.Add(24 * time.Hour).Format(time.RFC3339); got.Previous.WorksUntil == nil || *got.Previous.WorksUntil != want {
		t.Fatalf("got worksUntil %v, want the old token's own expiry %s", got.Previous.WorksUntil, want)
	}
	w.clock.Add(time.Hour - time.Second)
	if !w.works(t, old.Token) {
		t.Fatal("the old token is refused before its expiry")
	}
	w.clock.Add(time.Second)
	if w.works(t, old.Token) {
		t.Fatal("the overlap kept the old token working past its expiry")
	}
}

func TestAReplacedTokenCannotBeRotatedAgain(t *testing.T) {
	w := newWorld(t)
	ada := w.session(t, "ada@example.com")
	old := w.create(t, ada, `{"description":"ci"}`)
	next := decode[view](t, w.rotate(t, old.Token, old.ID, `{"overlapMinutes":30}`, nil), http.StatusCreated)
	before := w.items(t)
	for _, tc := range []struct{ name, bearer string }{
		{"by the owner's session", ada},
		{"by the old token itself, which still works", old.Token},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := w.rotate(t, tc.bearer, old.ID, `{"overlapMinutes":30}`, nil)
			if resp.StatusCode != http.StatusConflict || errorCode(t, resp) != tokens.CodeReplaced {
				t.Fatalf("got %d %s, want 409 %s", resp.StatusCode, resp.Body, tokens.CodeReplaced)
			}
			if !strings.Contains(resp.Body, next.ID) {
				t.Errorf("got %s, want the message to name the newest token %s", resp.Body, next.ID)
			}
			if !sameItems(before, w.items(t)) {
				t.Fatal("a refused rotation changed the table")
			}
		})
	}
	// The family's newest token rotates as ever.
	decode[view](t, w.rotate(t, next.Token, next.ID, `{"overlapMinutes":30}`, nil), http.StatusCreated)
}

func TestConcurrentRotationsOfOneTokenHaveExactlyOneWinner(t *testing.T) {
	w := newWorld(t)
	ada := w.session(t, "ada@example.com")
	old := w.create(t, ada, `{"description":"contended","lifespanDays":7}`)
	const n = 20
	resps := make([]api.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			bearer := ada
			if i%2 == 1 {
				bearer = old.Token // the token itself races its owner
			}
			resps[i] = w.rotate(t, bearer, old.ID, `{"overlapMinutes":5}`, nil)
		})
	}
	wg.Wait()
	var winners []view
	for _, resp := range resps {
		switch {
		case resp.StatusCode == http.StatusCreated:
			winners = append(winners, decode[view](t, resp, http.StatusCreated))
		case resp.StatusCode == http.StatusConflict && errorCode(t, resp) == tokens.CodeReplaced:
		default:
			t.Errorf("got %d %s, want 201 or 409 %s", resp.StatusCode, resp.Body, tokens.CodeReplaced)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("got %d successful rotations, want exactly 1", len(winners))
	}
	items := w.items(t)
	if len(items) != 3 {
		t.Fatalf("got items %v, want the old token, the one new token and the description item", slices.Sorted(maps.Keys(items)))
	}
	if n := w.auditRotations(t); n != 1 {
		t.Fatalf("got %d rotation events, want the winner's alone", n)
	}
	name := items["NAME#contended"]["tokenId"].(*types.AttributeValueMemberS).Value
	if name != winners[0].ID {
		t.Errorf("the description belongs to %s, want the winner %s", name, winners[0].ID)
	}
	if !w.works(t, winners[0].Token) || !w.works(t, old.Token) {
		t.Error("the winner's token or the old one (in its overlap) is refused")
	}
}

func TestOnlyTheTokenItselfOrItsOwnersSessionMayRotateIt(t *testing.T) {
	w := newWorld(t)
	ada, grace := w.session(t, "ada@example.com"), w.session(t, "grace@example.com")
	target := w.create(t, ada, `{"description":"target"}`)
	sibling := w.create(t, ada, `{"description":"sibling"}`)
	graces := w.create(t, grace, `{"description":"grace's"}`)
	before := w.items(t)
	for _, tc := range []struct {
		name, bearer, code string
		status             int
	}{
		{"another API token of the same user", sibling.Token, tokens.CodeRotatesItself, http.StatusForbidden},
		{"an API token of another user", graces.Token, tokens.CodeRotatesItself, http.StatusForbidden},
		{"another user's session", grace, tokens.CodeNotOwner, http.StatusForbidden},
	} {
		t.Run(tc.name+" may not", func(t *testing.T) {
			resp := w.rotate(t, tc.bearer, target.ID, `{"overlapMinutes":60}`, nil)
			if resp.StatusCode != tc.status || errorCode(t, resp) != tc.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, resp.Body, tc.status, tc.code)
			}
			if !sameItems(before, w.items(t)) {
				t.Fatal("a refused rotation changed the table")
			}
			if !w.works(t, target.Token) {
				t.Fatal("the target stopped working")
			}
		})
	}
	t.Run("a token of another tenant is not found", func(t *testing.T) {
		other, err := w.Sessions.Issue("ada@example.com", "globex", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		resp := w.rotate(t, other, target.ID, `{}`, nil)
		if resp.StatusCode != http.StatusNotFound || errorCode(t, resp) != "NOT_FOUND" {
			t.Fatalf("got %d %s, want 404 NOT_FOUND", resp.StatusCode, resp.Body)
		}
	})
	t.Run("the owner's session may", func(t *testing.T) {
		decode[view](t, w.rotate(t, ada, target.ID, `{"overlapMinutes":60}`, nil), http.StatusCreated)
	})
}

func TestBadInputIsA400AndChangesNothing(t *testing.T) {
	w := newWorld(t)
	ada := w.session(t, "ada@example.com")
	tk := w.create(t, ada, `{"description":"stays"}`)
	before := w.items(t)
	for _, tc := range []struct {
		name, body, code string
		headers          map[string]string
	}{
		{"a negative overlap", `{"overlapMinutes":-1}`, tokens.CodeInvalidOverlap, nil},
		{"an overlap over a week", `{"overlapMinutes":10081}`, tokens.CodeInvalidOverlap, nil},
		{"an overlap as a string", `{"overlapMinutes":"60"}`, tokens.CodeInvalidOverlap, nil},
		{"a fractional overlap", `{"overlapMinutes":1.5}`, tokens.CodeInvalidOverlap, nil},
		{"an overlap as a boolean", `{"overlapMinutes":true}`, tokens.CodeInvalidOverlap, nil},
		{"an overlap in exponent form", `{"overlapMinutes":6e1}`, tokens.CodeInvalidOverlap, nil},
		{"an unknown field", `{"overlapMinutes":5,"lifespanDays":3}`, "INVALID_BODY", nil},
		{"a field in another case", `{"OverlapMinutes":5}`, "INVALID_BODY", nil},
		{"a field twice", `{"overlapMinutes":5,"overlapMinutes":6}`, "INVALID_BODY", nil},
		{"not JSON", `overlap=5`, "INVALID_BODY", nil},
		{"an Idempotency-Key over 128 characters", `{"overlapMinutes":5}`, tokens.CodeInvalidIdemKey, map[string]string{"Idempotency-Key": strings.Repeat("k", 129)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := w.rotate(t, ada, tk.ID, tc.body, tc.headers)
			if resp.StatusCode != http.StatusBadRequest || errorCode(t, resp) != tc.code {
				t.Fatalf("got %d %s, want 400 %s", resp.StatusCode, resp.Body, tc.code)
			}
			if !sameItems(before, w.items(t)) {
				t.Fatal("a refused rotation changed the table")
			}
		})
	}
	t.Run("an id that is not a token's is 404", func(t *testing.T) {
		for _, id := range []string{"", strings.Repeat("a", 65), "0197a3b2-0000-7000-8000-000000000000"} {
			resp := w.rotate(t, ada, id, `{}`, nil)
			if resp.StatusCode != http.StatusNotFound || errorCode(t, resp) != "NOT_FOUND" {
				t.Errorf("id %q: got %d %s, want 404 NOT_FOUND", id, resp.StatusCode, resp.Body)
			}
		}
		if !sameItems(before, w.items(t)) {
			t.Fatal("a refused rotation changed the table")
		}
	})
	t.Run("an expired token is 409 and stays as it was", func(t *testing.T) {
		short := w.create(t, ada, `{"description":"expires","lifespanDays":1}`)
		snapshot := w.items(t)
		w.clock.Add(24 * time.Hour)
		resp := w.rotate(t, w.session(t, "ada@example.com"), short.ID, `{}`, nil)
		if resp.StatusCode != http.StatusConflict || errorCode(t, resp) != tokens.CodeExpired {
			t.Fatalf("got %d %s, want 409 %s", resp.StatusCode, resp.Body, tokens.CodeExpired)
		}
		if !sameItems(snapshot, w.items(t)) {
			t.Fatal("a refused rotation changed the table")
		}
	})
}

func TestARetriedRotationWithTheSameKeyAnswersTheSameNewToken(t *testing.T) {
	w := newWorld(t)
	ada := w.session(t, "ada@example.com")
	old := w.create(t, ada, `{"description":"pipeline","lifespanDays":90}`)
	key := map[string]string{"Idempotency-Key": "f3b1c9a8-2c4d-4e5f-8a9b-0c1d2e3f4a5b"}
	first := decode[view](t, w.rotate(t, old.Token, old.ID, `{"overlapMinutes":60}`, key), http.StatusCreated)
	after := w.items(t)
	w.clock.Add(10 * time.Minute) // the answer was lost; the caller retries

	again := decode[view](t, w.rotate(t, old.Token, old.ID, `{"overlapMinutes":60}`, key), http.StatusCreated)
	if again.ID != first.ID || again.CreatedAt != first.CreatedAt || *again.ExpiresAt != *first.ExpiresAt {
		t.Fatalf("got %+v, want the first rotation's new token %+v", again, first)
	}
	if !w.works(t, again.Token) || !w.works(t, first.Token) {
		t.Fatal("the token of the repeated answer, or the first one, is refused")
	}
	if !sameItems(after, w.items(t)) {
		t.Fatal("the repeated rotation changed the table")
	}
	for _, tc := range []struct {
		name    string
		headers map[string]string
	}{{"without a key", nil}, {"with another key", map[string]string{"Idempotency-Key": "another"}}} {
		t.Run(tc.name+" the old token's rotation is refused", func(t *testing.T) {
			resp := w.rotate(t, old.Token, old.ID, `{"overlapMinutes":60}`, tc.headers)
			if resp.StatusCode != http.StatusConflict || errorCode(t, resp) != tokens.CodeReplaced {
				t.Fatalf("got %d %s, want 409 %s", resp.StatusCode, resp.Body, tokens.CodeReplaced)
			}
		})
	}
	t.Run("after the overlap the same key is refused too", func(t *testing.T) {
		w.clock.Add(50 * time.Minute)
		resp := w.rotate(t, ada, old.ID, `{"overlapMinutes":60}`, key)
		if resp.StatusCode != http.StatusConflict || errorCode(t, resp) != tokens.CodeReplaced {
			t.Fatalf("got %d %s, want 409 %s", resp.StatusCode, resp.Body, tokens.CodeReplaced)
		}
	})
}

func TestTheFamilySharesItsDescriptionDuringTheOverlap(t *testing.T) {
	w := newWorld(t)
	ada := w.session(t, "ada@example.com")
	old := w.create(t, ada, `{"description":"Shared Name"}`)
	next := decode[view](t, w.rotate(t, ada, old.ID, `{"overlapMinutes":120}`, nil), http.StatusCreated)
	taken := func(t *testing.T) bool {
		t.Helper()
		resp := w.call(t, "POST /api-tokens", ada, events.APIGatewayProxyRequest{Body: `{"description":"shared name"}`})
		switch {
		case resp.StatusCode == http.StatusConflict && errorCode(t, resp) == tokens.CodeDescriptionTaken:
			return true
		case resp.StatusCode == http.StatusCreated:
			return false
		}
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
		return false
	}
	if !taken(t) {
		t.Fatal("another token took the family's description during the overlap")
	}
	deleteToken := func(id string) {
		resp := w.call(t, "DELETE /api-tokens/{id}", ada, events.APIGatewayProxyRequest{PathParameters: map[string]string{"id": id}})
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete %s: got %d %s", id, resp.StatusCode, resp.Body)
		}
	}
	deleteToken(old.ID)
	if w.works(t, old.Token) {
		t.Fatal("a deleted old token still works in its overlap")
	}
	if !taken(t) {
		t.Fatal("deleting the old token freed the description its family's newest token holds")
	}
	deleteToken(next.ID)
	if taken(t) {
		t.Fatal("deleting the family's newest token did not free the description")
	}
}

// The log is the authorizer's; a positive control that it records denials
// at all keeps TestAnOldTokenWorksUntilItsOverlapEndsAndNotASecondLonger's
// absence check honest.
func TestTheLogRecordsTokenIDsNotTokens(t *testing.T) {
	w := newWorld(t)
	ada := w.session(t, "ada@example.com")
	tk := w.create(t, ada, `{"description":"logged"}`)
	decode[view](t, w.rotate(t, ada, tk.ID, `{}`, nil), http.StatusCreated)
	if w.works(t, tk.Token) {
		t.Fatal("the revoked token works")
	}
	if log := w.Log.String(); !strings.Contains(log, tk.ID) || strings.Contains(log, tk.Token) || bytes.Contains([]byte(log), []byte(strings.Split(tk.Token, ".")[2])) {
		t.Fatalf("got log %q, want the token id and not the token", log)
	}
}

func TestOnlyTheFamilysNewestTokenGetsExpiryNotices(t *testing.T) {
	w := newWorld(t)
	ada := w.session(t, "ada@example.com")
	old := w.create(t, ada, `{"description":"noticed","lifespanDays":10}`)
	w.clock.Add(5 * 24 * time.Hour)
	next := decode[view](t, w.rotate(t, old.Token, old.ID, `{"overlapMinutes":60}`, nil), http.StatusCreated)
	// Four days on, the old token's 1-day notice and the new one's 7-day
	// notice would both be due.
	pending, err := w.Store.PendingNotices(context.Background(), w.clock.Now().Add(4*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range pending {
		ids = append(ids, p.Token.ID)
	}
	if !slices.Equal(ids, []string{next.ID}) {
		t.Fatalf("got notices due for %v, want only the new token %s (the old one %s was replaced)", ids, next.ID, old.ID)
	}
}

func TestARotatedTokenKeepsItsScopesAndNeedsNoScopeToRotateItself(t *testing.T) {
	w := newWorld(t)
	ada := w.session(t, "ada@example.com")
	narrow := w.create(t, ada, `{"description":"masking only","scopes":["compliance-jobs:run"]}`)
	next := decode[view](t, w.rotate(t, narrow.Token, narrow.ID, `{}`, nil), http.StatusCreated)
	if !slices.Equal(next.Scopes, []string{"compliance-jobs:run"}) || !slices.Equal(next.Previous.Scopes, []string{"compliance-jobs:run"}) {
		t.Fatalf("got scopes %v (previous %v), want the old token's", next.Scopes, next.Previous.Scopes)
	}
	p, err := w.Auth.Authenticate(context.Background(), "Bearer "+next.Token)
	if err != nil || !slices.Equal(p.Scopes, []access.Scope{access.ScopeComplianceJobsRun}) {
		t.Fatalf("the new token authenticates as %+v, %v; want its one scope", p, err)
	}
	if resp := w.call(t, "GET /api-tokens", next.Token, events.APIGatewayProxyRequest{}); resp.StatusCode != http.StatusForbidden || errorCode(t, resp) != access.CodeInsufficientScope {
		t.Fatalf("the rotated token lists tokens: %d %s, want 403 %s", resp.StatusCode, resp.Body, access.CodeInsufficientScope)
	}
}
