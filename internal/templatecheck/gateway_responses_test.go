package templatecheck

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dcs-access/dcs-access/internal/api"
)

// corsOrigin is the header every Gateway Response carries, so that the
// console can read API Gateway's own errors.
const corsOrigin = `!Sub '${ConsoleOrigin}'`

// checkGatewayResponses checks that the API's Gateway Responses are exactly
// want (api.GatewayResponses, which the local server answers with): the same
// types, statuses, bodies and headers, each with the console's CORS origin.
func checkGatewayResponses(tpl *cfnTemplate, want map[string]api.GatewayResponse) []string {
	theAPI, problems := theAPI(tpl)
	if problems != nil {
		return problems
	}
	got := map[string]bool{}
	for _, e := range entries(theAPI.prop("GatewayResponses")) {
		got[e.Key] = true
		w, ok := want[e.Key]
		where := theAPI.ID + " GatewayResponses." + e.Key
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is not in api.GatewayResponses: add it there, so the local server answers alike", where))
			continue
		}
		status := "<unset>"
		if w.Status != 0 {
			status = strconv.Itoa(w.Status)
		}
		if g := render(at(e.Value, "StatusCode")); g != status {
			problems = append(problems, fmt.Sprintf("%s: StatusCode is %s, want %s", where, g, status))
		}
		if g := render(at(e.Value, "ResponseTemplates.application/json")); g != w.Body() {
			problems = append(problems, fmt.Sprintf("%s: the application/json template is %s, want %s", where, g, w.Body()))
		}
		headers := map[string]string{}
		for _, h := range entries(at(e.Value, "ResponseParameters.Headers")) {
			headers[h.Key] = render(h.Value)
		}
		wantHeaders := map[string]string{"Access-Control-Allow-Origin": corsOrigin}
		for k, v := range w.Headers {
			wantHeaders[k] = "'" + v + "'" // a static value in a mapping is quoted
		}
		for _, k := range slices.Sorted(maps.Keys(wantHeaders)) {
			if headers[k] != wantHeaders[k] {
				problems = append(problems, fmt.Sprintf("%s: header %s is %q, want %q", where, k, headers[k], wantHeaders[k]))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(headers)) {
			if _, ok := wantHeaders[k]; !ok {
				problems = append(problems, fmt.Sprintf("%s: header %s is not in api.GatewayResponses", where, k))
			}
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(want)) {
		if !got[typ] {
			problems = append(problems, fmt.Sprintf("%s: GatewayResponses has no %s, which api.GatewayResponses (and so the local server) has", theAPI.ID, typ))
		}
	}
	return problems
}

func TestGatewayResponsesAreTheLocalServers(t *testing.T) {
	report(t, checkGatewayResponses(loadTemplate(t), api.GatewayResponses))
}

func TestGatewayResponseCheckCatchesMutations(t *testing.T) {
	check := func(tpl *cfnTemplate) []string { return checkGatewayResponses(tpl, api.GatewayResponses) }
	const responses = "Resources.Api.Properties.GatewayResponses"
	runMutations(t, []mutation{
		{"a 401 without WWW-Authenticate is caught",
			removeAt(responses + ".UNAUTHORIZED.ResponseParameters.Headers.WWW-Authenticate"), check,
			`header WWW-Authenticate is "", want "'Bearer'"`},
		{"another message is caught",
			setTo(responses+".ACCESS_DENIED.ResponseTemplates.application/json", `'{"error":{"code":"ACCESS_DENIED","message":"Denied."}}'`), check,
			"ACCESS_DENIED: the application/json template is"},
		{"another status is caught",
			setTo(responses+".MISSING_AUTHENTICATION_TOKEN.StatusCode", "403"), check, "StatusCode is 403, want 404"},
		{"a response the local server does not give is caught",
			setTo(responses+".INVALID_API_KEY", `{StatusCode: 403, ResponseTemplates: {application/json: '{}'}}`), check,
			"INVALID_API_KEY is not in api.GatewayResponses"},
		{"a missing response is caught",
			removeAt(responses + ".THROTTLED"), check, "GatewayResponses has no THROTTLED"},
		{"a response the console cannot read is caught",
			removeAt(responses + ".DEFAULT_5XX.ResponseParameters.Headers.Access-Control-Allow-Origin"), check,
			"DEFAULT_5XX: header Access-Control-Allow-Origin"},
		{"an extra header is caught",
			setTo(responses+".ACCESS_DENIED.ResponseParameters.Headers.X-Debug", `"'1'"`), check,
			"header X-Debug is not in api.GatewayResponses"},
	})
}

// The body is what the template writes: JSON, with <token> as it is.
func TestAGatewayResponseBodyIsTheErrorShape(t *testing.T) {
	got := api.GatewayResponses["UNAUTHORIZED"].Body()
	if want := `{"error":{"code":"UNAUTHORIZED","message":"A valid bearer token is required: send Authorization: Bearer <token>."}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := api.GatewayResponses["DEFAULT_4XX"].Body(); !strings.Contains(got, `"message":$context.error.messageString}`) {
		t.Errorf("got %s, want the message variable unquoted", got)
	}
}
