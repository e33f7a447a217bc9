package localserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/auditstream"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/eventbus"
	"github.com/dcs-access/dcs-access/internal/localserver"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// These tests make changes through the local stack's API and read its audit
// trail back: GET /audit-events, the items in DynamoDB Local, and the bus
// the table's stream feeds, as make run does (cmd/local runs the stream).

// followAuditStream follows the stack's table stream from now on onto bus,
// as make run does (localserver.New), so that a test can poll it.
func followAuditStream(t *testing.T, s *pipelineStack, bus auditstream.Publisher) *localserver.AuditStream {
	t.Helper()
	a, err := localserver.NewAuditStream(context.Background(), awsconfig.Local(testenv.DynamoDBEndpoint(t)), s.table, bus, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// listAudit reads the whole audit trail a bearer's tenant has, page by
// page through nextToken, newest first.
func listAudit(t *testing.T, s *pipelineStack, bearer, query string) []audit.Event {
	t.Helper()
	var all []audit.Event
	next := ""
	for {
		q, _ := url.ParseQuery(query)
		if next != "" {
			q.Set("nextToken", next)
		}
		status, out := call(t, s.http, "GET", "/audit-events?"+q.Encode(), bearer, "")
		if status != http.StatusOK {
			t.Fatalf("GET /audit-events?%s: got %d %v", q.Encode(), status, out)
		}
		raw, _ := json.Marshal(out["items"])
		var page []audit.Event
		if err := json.Unmarshal(raw, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		next, _ = out["nextToken"].(string)
		if next == "" {
			return all
		}
	}
}

func actions(evs []audit.Event) []audit.Action {
	out := []audit.Action{}
	for _, ev := range evs {
		out = append(out, ev.Action)
	}
	return out
}

// publishedAudit are the audit events on bus, in the order published.
func publishedAudit(t *testing.T, bus *eventbus.Memory) []audit.Event {
	t.Helper()
	var out []audit.Event
	for _, e := range bus.Events() {
		if e.DetailType != audit.DetailType {
			continue
		}
		var ev audit.Event
		if err := json.Unmarshal(e.Detail, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// auditItems are every audit item in the table, as DynamoDB holds them
// (read with the SDK's own client, apart from the store's codec).
func auditItems(t *testing.T, s *pipelineStack) string {
	t.Helper()
	out, err := testenv.DynamoDB(t).Scan(context.Background(), &dynamodb.ScanInput{TableName: &s.table,
		FilterExpression:          aws.String("begins_with(pk, :audit)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":audit": &types.AttributeValueMemberS{Value: auditstream.PartitionPrefix}}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, item := range out.Items {
		for name, v := range item {
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				b.WriteString(name + "=" + sv.Value + "\n")
			}
		}
	}
	return b.String()
}

// secretsIn names each of secrets found in text, whole or as any of its
// three JWT parts (a signature is enough to replay nothing, but a payload
// or header copied into an event would show a token was copied).
func secretsIn(text string, secrets map[string]string) []string {
	var found []string
	for name, secret := range secrets {
		parts := append([]string{secret}, strings.Split(secret, ".")...)
		for _, p := range parts {
			if len(p) >= 16 && strings.Contains(text, p) {
				found = append(found, name)
				break
			}
		}
	}
	slices.Sort(found)
	return found
}

func TestEachChangeThroughTheAPIIsInTheAuditTrailAndOnTheBus(t *testing.T) {
	s := newPipelineStack(t)
	stream := followAuditStream(t, s, s.srv.Bus)

	// A token that may read the audit trail, used once (its first use from
	// an address: 127.0.0.1), then a plan, a run to its end, and the
	// token's deletion, each through the API.
	status, created := call(t, s.http, "POST", "/api-tokens", s.session, `{"description":"auditor","scopes":["audit:read","tokens:read"]}`)
	if status != 201 {
		t.Fatalf("create: got %d %v", status, created)
	}
	raw, id := created["token"].(string), created["id"].(string)
	if status, out := call(t, s.http, "GET", "/whoami", raw, ""); status != 200 {
		t.Fatalf("whoami with the token: got %d %v", status, out)
	}
	if !testenv.Eventually(10*time.Second, func() bool {
		return slices.Contains(actions(listAudit(t, s, s.session, "")), audit.TokenUsedFromNewIP)
	}) {
		t.Fatal("the token's first use from 127.0.0.1 was never recorded")
	}
	// Used again from the same address: nothing new to record.
	if status, out := call(t, s.http, "GET", "/whoami", raw, ""); status != 200 {
		t.Fatalf("whoami again: got %d %v", status, out)
	}
	s.putPlan(t)
	run := s.wait(t, s.start(t))
	if run["status"] != "SUCCEEDED" {
		t.Fatalf("got run %v, want it to succeed", run)
	}
	if status, out := call(t, s.http, "DELETE", "/sandbox-plans/uat1", s.session, ""); status != 204 {
		t.Fatalf("delete the plan: got %d %v", status, out)
	}
	byToken := listAudit(t, s, raw, "limit=3") // the token reads it too, while it exists
	if status, out := call(t, s.http, "DELETE", "/api-tokens/"+id, s.session, ""); status != 204 {
		t.Fatalf("delete the token: got %d %v", status, out)
	}
	policy, _ := json.Marshal(map[string]any{"maxLifespanDays": nil, "requireExpiry": false, "allowedScopes": access.AllScopes(), "ownerOnlyDelete": true})
	if status, out := call(t, s.http, "PUT", "/tenant-policy", s.admin, string(policy)); status != 200 {
		t.Fatalf("an administrator's policy change: got %d %v", status, out)
	}

	full := listAudit(t, s, s.session, "limit=2")
	if !slices.EqualFunc(byToken, full[2:], func(a, b audit.Event) bool { return a.ID == b.ID }) {
		t.Errorf("the token listed %v, want what the session lists before the deletion", actions(byToken))
	}
	// The oldest is the demo's: the creation of the pipeline's DCS token
	// (newPipelineStack), before the stream was followed.
	if demo := full[len(full)-1]; demo.Action != audit.TokenCreated || !strings.HasPrefix(demo.Details["description"], "local sandbox refresh") {
		t.Fatalf("got %+v as the oldest event, want the demo's DCS token's creation", demo)
	}
	got := full[:len(full)-1]
	want := []audit.Action{audit.TenantPolicyChanged, audit.TokenDeleted, audit.PlanDeleted, audit.RunFinished, audit.RunStarted, audit.PlanSaved, audit.TokenUsedFromNewIP, audit.TokenCreated}
	if !slices.Equal(actions(got), want) {
		t.Fatalf("got %v, want %v: one event a change, newest first", actions(got), want)
	}
	ada := audit.Actor{Type: audit.ActorSession, User: "ada@acme.example"}
	grace := audit.Actor{Type: audit.ActorSession, User: "grace@acme.example"}
	runID := run["id"].(string)
	for _, c := range []struct {
		ev     audit.Event
		actor  audit.Actor
		target audit.Target
	}{
		{got[0], grace, audit.Target{Type: audit.TargetTenantPolicy, ID: "acme"}},
		{got[1], ada, audit.Target{Type: audit.TargetToken, ID: id}},
		{got[2], ada, audit.Target{Type: audit.TargetPlan, ID: "uat1"}},
		{got[3], audit.Service("sandbox-refreshes"), audit.Target{Type: audit.TargetRun, ID: runID}},
		{got[4], ada, audit.Target{Type: audit.TargetRun, ID: runID}},
		{got[5], ada, audit.Target{Type: audit.TargetPlan, ID: "uat1"}},
		{got[6], audit.Actor{Type: audit.ActorAPIToken, User: "ada@acme.example", TokenID: id}, audit.Target{Type: audit.TargetToken, ID: id}},
		{got[7], ada, audit.Target{Type: audit.TargetToken, ID: id}},
	} {
		ev := c.ev
		if ev.Actor != c.actor || ev.Target != c.target || ev.Tenant != "acme" || ev.ID == "" || time.Since(ev.Time) > time.Minute {
			t.Errorf("%s: got %+v, want actor %+v, target %+v, in acme, just now", ev.Action, ev, c.actor, c.target)
		}
		if ev.Actor.Type == audit.ActorService {
			continue // the run's end: Step Functions told the stack, no request asked
		}
		if ev.SourceIP != "127.0.0.1" || !strings.HasPrefix(ev.UserAgent, "Go-http-client/") || ev.RequestID == "" {
			t.Errorf("%s: got source %q, user agent %q, request %q; want the request's", ev.Action, ev.SourceIP, ev.UserAgent, ev.RequestID)
		}
	}
	if got[0].Details["version"] != "1" || got[1].Details["description"] != "auditor" || got[4].Details["sandbox"] != "uat1" || got[3].Details["status"] != "SUCCEEDED" {
		t.Errorf("got details %v, %v, %v, %v; want the policy's version, the deleted token's description, the run's sandbox and status", got[0].Details, got[1].Details, got[4].Details, got[3].Details)
	}

	// Another tenant sees none of it.
	if other := listAudit(t, s, signIn(t, s.http, "bob@globex.example", "globex"), ""); len(other) != 0 {
		t.Errorf("globex got %v, want no event of acme's", actions(other))
	}

	// The table's stream put each event on the bus, once, in the order written.
	if !testenv.Eventually(10*time.Second, func() bool {
		if err := stream.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		return len(publishedAudit(t, s.srv.Bus)) >= len(got)
	}) {
		t.Fatalf("got %d events on the bus, want %d", len(publishedAudit(t, s.srv.Bus)), len(got))
	}
	published := publishedAudit(t, s.srv.Bus)
	for i, ev := range slices.Backward(got) {
		if p := published[len(got)-1-i]; p.ID != ev.ID || p.Action != ev.Action || p.Target != ev.Target || p.Actor != ev.Actor || !p.Time.Equal(ev.Time) {
			t.Errorf("bus event %d: got %+v, want %+v", len(got)-1-i, p, ev)
		}
	}
	if len(published) != len(got) {
		t.Errorf("got %d events on the bus, want %d: each once", len(published), len(got))
	}

	// No token string anywhere in the trail: the listed events, the stored
	// items, the bus.
	secrets := map[string]string{"the API token": raw, "the session": s.session}
	trail := func() string {
		listed, _ := json.Marshal(listAudit(t, s, s.session, ""))
		onBus, _ := json.Marshal(publishedAudit(t, s.srv.Bus))
		return string(listed) + auditItems(t, s) + string(onBus)
	}
	if found := secretsIn(trail(), secrets); len(found) != 0 {
		t.Fatalf("the audit trail holds %v", found)
	}
	// The positive control: an event that did carry the token (nothing in
	// the code makes one) is found in each of the three places searched.
	tk := access.Token{ID: "0193f6b2-0000-7000-8000-00000000beef", Tenant: "acme", Description: "leaky", AssociatedUser: "ada@acme.example", CreatedAt: time.Now()}
	leaky := audittest.TokenCreated("acme", tk.ID).With("note", raw)
	pol, err := s.store.GetPolicy(context.Background(), "acme") // the test changed it: the write holds it
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.Create(context.Background(), tk, pol, leaky); err != nil {
		t.Fatal(err)
	}
	if err := stream.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	listed, _ := json.Marshal(listAudit(t, s, s.session, ""))
	onBus, _ := json.Marshal(publishedAudit(t, s.srv.Bus))
	for where, text := range map[string]string{"the list": string(listed), "the table": auditItems(t, s), "the bus": string(onBus)} {
		if found := secretsIn(text, secrets); !slices.Equal(found, []string{"the API token"}) {
			t.Errorf("%s: the search found %v, want the planted token: it would miss a token there", where, found)
		}
	}
}

func TestTheAuditListRefusesBadQueriesWithA400(t *testing.T) {
	s := newPipelineStack(t)
	for query, code := range map[string]string{
		"limit=0":               "INVALID_LIMIT",
		"limit=101":             "INVALID_LIMIT",
		"limit=ten":             "INVALID_LIMIT",
		"since=yesterday":       "INVALID_TIME",
		"until=2026-11-27":      "INVALID_TIME",
		"action=token.created":  "INVALID_ACTION",
		"nextToken=bm90IG91cnM": "INVALID_NEXT_TOKEN",
		"since=2026-11-28T00:00:00Z&until=2026-11-27T00:00:00Z": "INVALID_TIME_RANGE",
	} {
		t.Run(query, func(t *testing.T) {
			status, out := call(t, s.http, "GET", "/audit-events?"+query, s.session, "")
			if got, _ := errorOf(out); status != 400 || got != code {
				t.Fatalf("got %d %v, want 400 %s", status, out, code)
			}
		})
	}
	// The positive control: a good query of each parameter is answered.
	if status, out := call(t, s.http, "GET", "/audit-events?limit=100&action=api-token.created&since=2026-11-27T00:00:00Z&until=2126-11-28T00:00:00.5Z", s.session, ""); status != 200 {
		t.Fatalf("got %d %v, want 200", status, out)
	}
}

// failingBus refuses the first n events it is given, then puts them on bus.
type failingBus struct {
	mu  sync.Mutex
	n   int
	bus *eventbus.Memory
}

func (f *failingBus) Publish(ctx context.Context, detailType string, detail any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n > 0 {
		f.n--
		return errors.New("throttled")
	}
	return f.bus.Publish(ctx, detailType, detail)
}

// A bus that refuses an event loses nothing and doubles nothing: the
// stream is read again from that event, as Lambda retries the batch from
// the failure its function reports.
func TestAnEventTheBusRefusedIsPublishedLaterOnce(t *testing.T) {
	s := newPipelineStack(t)
	bus := &failingBus{n: 2, bus: &eventbus.Memory{}}
	stream := followAuditStream(t, s, bus)
	var ids []string
	for _, d := range []string{"one", "two", "three"} {
		status, out := call(t, s.http, "POST", "/api-tokens", s.session, `{"description":"`+d+`"}`)
		if status != 201 {
			t.Fatalf("create: got %d %v", status, out)
		}
		ids = append(ids, out["id"].(string))
	}
	failures := 0
	if !testenv.Eventually(15*time.Second, func() bool {
		if err := stream.Poll(context.Background()); err != nil {
			failures++
		}
		return len(publishedAudit(t, bus.bus)) >= len(ids)
	}) {
		t.Fatalf("got %d events on the bus, want %d", len(publishedAudit(t, bus.bus)), len(ids))
	}
	if failures != 2 {
		t.Errorf("got %d failed polls, want the 2 the bus refused", failures)
	}
	var got []string
	for _, ev := range publishedAudit(t, bus.bus) {
		got = append(got, ev.Target.ID)
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("got events of %v on the bus, want each of %v once, in order", got, ids)
	}
}

// The local stream hands on every record, and the handler tells them
// apart as the mapping's filter and the function do in AWS: a token's
// creation is published once, and its own later writes pass unnoticed,
// while an update and a delete of its audit item on DynamoDB Local (which
// no code makes) are each logged as tampering, by the item's key.
func TestWritesOverAnAuditEventAreLoggedAsTampering(t *testing.T) {
	s := newPipelineStack(t)
	bus := &eventbus.Memory{}
	var log strings.Builder
	stream, err := localserver.NewAuditStream(context.Background(), awsconfig.Local(testenv.DynamoDBEndpoint(t)), s.table, bus, slog.New(slog.NewJSONHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	status, out := call(t, s.http, "POST", "/api-tokens", s.session, `{"description":"tampered with"}`)
	if status != 201 {
		t.Fatalf("create: got %d %v", status, out)
	}
	id := out["id"].(string)
	if status, out := call(t, s.http, "DELETE", "/api-tokens/"+id, s.session, ""); status != http.StatusNoContent {
		t.Fatalf("delete: got %d %v", status, out)
	}
	poll := func(until func() bool) bool {
		return testenv.Eventually(15*time.Second, func() bool {
			if err := stream.Poll(context.Background()); err != nil {
				t.Log(err)
			}
			return until()
		})
	}
	if !poll(func() bool { return len(publishedAudit(t, bus)) >= 2 }) {
		t.Fatalf("got %d events on the bus, want the creation and the deletion", len(publishedAudit(t, bus)))
	}
	if strings.Contains(log.String(), "tampering") {
		t.Fatalf("the API's own writes were logged as tampering: %s", log.String())
	}

	db := testenv.DynamoDB(t)
	scan, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: &s.table, FilterExpression: aws.String("begins_with(pk, :audit) AND contains(#e, :id)"),
		ExpressionAttributeNames:  map[string]string{"#e": auditstream.DocumentAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":audit": &types.AttributeValueMemberS{Value: auditstream.PartitionPrefix}, ":id": &types.AttributeValueMemberS{Value: id}}})
	if err != nil || len(scan.Items) != 2 {
		t.Fatalf("got %v, %v; want the token's two audit items", scan, err)
	}
	key := map[string]types.AttributeValue{"pk": scan.Items[0]["pk"], "sk": scan.Items[0]["sk"]}
	sk := scan.Items[0]["sk"].(*types.AttributeValueMemberS).Value
	if _, err := db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: &s.table, Key: key,
		UpdateExpression: aws.String("SET #e = :forged"), ExpressionAttributeNames: map[string]string{"#e": auditstream.DocumentAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":forged": &types.AttributeValueMemberS{Value: `{"id":"forged"}`}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: &s.table, Key: key}); err != nil {
		t.Fatal(err)
	}
	tampered := func() []string {
		var names []string
		for line := range strings.Lines(log.String()) {
			var l struct{ Level, PK, SK, EventName string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Level == "ERROR" && l.SK == sk && strings.HasPrefix(l.PK, auditstream.PartitionPrefix) {
				names = append(names, l.EventName)
			}
		}
		return names
	}
	if !poll(func() bool { return len(tampered()) >= 2 }) {
		t.Fatalf("logged tampering %v, want the MODIFY and the REMOVE of %s: %s", tampered(), sk, log.String())
	}
	if got := tampered(); !slices.Equal(got, []string{"MODIFY", "REMOVE"}) {
		t.Errorf("logged tampering %v, want MODIFY then REMOVE", got)
	}
	if got := len(publishedAudit(t, bus)); got != 2 {
		t.Errorf("got %d events on the bus, want the 2 inserts, each once (the forged document is not an event published)", got)
	}
	if strings.Contains(log.String(), "forged") {
		t.Errorf("the log repeats the forged document: %s", log.String())
	}
}
