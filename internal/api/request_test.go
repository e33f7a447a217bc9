package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/api"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/runs"
)

// plan is a valid plan body; tests splice members into it.
const plan = `{"sandbox":"uat1","licenseType":"DEVELOPER","autoActivate":true,
	"salesforce":{"loginUrl":"https://login.salesforce.com","consumerKey":"k","username":"u@example.com"},
	"dcs":{"baseUrl":"https://dcs.example.com","complianceJobId":"7"},
	"keepUsers":["admin@example.com"],
	"nonProdUsers":[{"username":"qa@example.com","email":"qa@example.com"}],
	"pollIntervals":{"refreshSeconds":60},
	"timeoutHours":24}`

func TestDecodeTakesEachMemberInExactlyOneSpelling(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		into        func() any
		wantMessage string // "": decoded; otherwise the 400 INVALID_BODY message must contain it
	}{
		{name: "a body with exact names decodes", body: `{"description":"ci","lifespanDays":7}`, into: tokenBody},
		{name: "a plan with nested objects decodes", body: plan, into: planBody},
		{name: "an upper-case field name is refused, naming it", body: `{"DESCRIPTION":"ci"}`, into: tokenBody, wantMessage: `"DESCRIPTION"`},
		{name: "a field name in another case is refused, naming the right one", body: `{"lifespandays":7}`, into: tokenBody, wantMessage: `"lifespanDays"`},
		{name: "a duplicated field is refused, naming it", body: `{"description":"a","description":"b"}`, into: tokenBody, wantMessage: `"description"`},
		{name: "a field duplicated in another case is refused", body: `{"description":"a","Description":"b"}`, into: tokenBody, wantMessage: `"Description"`},
		{name: "a duplicated null field is refused", body: `{"description":null,"description":null}`, into: tokenBody, wantMessage: `"description"`},
		{name: "a case-variant field in a nested object is refused, with its path", body: strings.Replace(plan, `"consumerKey"`, `"ConsumerKey"`, 1), into: planBody, wantMessage: `"salesforce.ConsumerKey"`},
		{name: "a duplicate in a nested object is refused, with its path", body: strings.Replace(plan, `"refreshSeconds":60`, `"refreshSeconds":60,"refreshSeconds":1`, 1), into: planBody, wantMessage: `"pollIntervals.refreshSeconds"`},
		{name: "a duplicate inside an array element is refused, with its path", body: strings.Replace(plan, `"email":"qa@example.com"`, `"email":"qa@example.com","email":"x@example.com"`, 1), into: planBody, wantMessage: `"nonProdUsers[0].email"`},
		{name: "an unknown field in a nested object is refused, with its path", body: strings.Replace(plan, `"complianceJobId"`, `"complianceJob"`, 1), into: planBody, wantMessage: `"dcs.complianceJob"`},
		{name: "a duplicated top-level plan field is refused", body: strings.Replace(plan, `"timeoutHours":24`, `"timeoutHours":24,"timeoutHours":1`, 1), into: planBody, wantMessage: `"timeoutHours"`},
		{name: "a duplicate key inside a raw JSON member is refused", body: `{"lifespanDays":{"a":1,"a":2}}`, into: tokenBody, wantMessage: `"lifespanDays.a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := api.Decode(events.APIGatewayProxyRequest{Body: tt.body}, tt.into())
			if tt.wantMessage == "" {
				if err != nil {
					t.Fatalf("got error %v, want the body decoded", err)
				}
				return
			}
			e := access.AsError(err)
			if err == nil || e.Kind != access.EINVALID || e.Code != "INVALID_BODY" || !strings.Contains(e.Message, tt.wantMessage) {
				t.Fatalf("got %v, want 400 INVALID_BODY naming %s", err, tt.wantMessage)
			}
		})
	}
}

func tokenBody() any {
	return new(struct {
		Description  *string `json:"description"`
		LifespanDays any     `json:"lifespanDays"`
	})
}

func planBody() any { return new(plans.Plan) }

func TestCreateRefusesACaseVariantOrDuplicateFieldAndWritesNothing(t *testing.T) {
	for _, body := range []string{`{"DESCRIPTION":"ci"}`, `{"description":"a","description":"b"}`} {
		t.Run(body, func(t *testing.T) {
			h, st := handlers()
			resp, err := h.Create(context.Background(), request(createRoute, "session", body))
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeError(t, resp).Error.Code; resp.StatusCode != 400 || got != "INVALID_BODY" {
				t.Fatalf("got %d %s, want 400 INVALID_BODY", resp.StatusCode, resp.Body)
			}
			if len(st.created) != 0 {
				t.Fatalf("got %d tokens written, want none", len(st.created))
			}
		})
	}
}

// planLookups is a runs.PlanReader that records which plans were asked for
// and has none.
type planLookups struct{ asked []string }

func (p *planLookups) GetPlan(_ context.Context, tenant, sandbox string) (plans.Plan, error) {
	p.asked = append(p.asked, tenant+"/"+sandbox)
	return plans.Plan{}, plans.ErrNotFound()
}

func (p *planLookups) ListPlans(context.Context, string) ([]plans.Plan, error) { return nil, nil }

type publisher struct{}

func (publisher) Publish(context.Context, string, any) error { return nil }

func TestARefreshRequestedEventTakesEachDetailMemberInOneSpelling(t *testing.T) {
	tests := []struct {
		name   string
		detail string
		want   []string // the plans the run start looked up; none when the event is dropped
	}{
		{name: "an exact detail starts a run", detail: `{"tenant":"acme","sandbox":"uat1"}`, want: []string{"acme/uat1"}},
		{name: "a duplicated tenant is dropped", detail: `{"tenant":"acme","sandbox":"uat1","tenant":"globex"}`},
		{name: "a tenant in another case is dropped", detail: `{"Tenant":"acme","sandbox":"uat1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookups := &planLookups{}
			h := &api.Runs{Service: &runs.Service{Plans: lookups, Publisher: publisher{}, Now: func() time.Time { return now }}}
			err := h.HandleEvent(context.Background(), events.EventBridgeEvent{
				ID: "ev-1", DetailType: api.DetailRequested, Source: "dcs-access.test", Detail: json.RawMessage(tt.detail),
			})
			if err != nil || !slices.Equal(lookups.asked, tt.want) {
				t.Fatalf("got plans looked up %v (error %v), want %v", lookups.asked, err, tt.want)
			}
		})
	}
}
