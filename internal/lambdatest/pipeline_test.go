package lambdatest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/runs"
)

// The sandbox-refresh pipeline's functions through their binaries:
// SandboxPlansFunction on DynamoDB Local, SandboxRefreshesFunction on DynamoDB
// Local and moto (Step Functions), SandboxRefreshEventsFunction on both and
// moto's EventBridge, PipelineStepsFunction on moto
// (Secrets Manager). Salesforce and DCS are out of reach here (no network, and
// a plan may only name public https hosts), so the step cases are those that
// end before any call to them.

const (
	// sampleRunID is the run of get-sandbox-refresh.json and execution-status-change.json.
	sampleRunID = "uat1-20261127t112056z-4c7e1a"
	// sampleSecrets is where the sample plan's secrets are named (no such secrets exist in moto).
	sampleSecrets = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dcs-access/acme/"
)

// runView is a run as the API shows it.
type runView struct {
	ID           string            `json:"id"`
	Sandbox      string            `json:"sandbox"`
	RequestedAt  string            `json:"requestedAt"`
	RequestedBy  string            `json:"requestedBy"`
	Source       string            `json:"source"`
	Status       string            `json:"status"`
	CurrentStep  string            `json:"currentStep"`
	StartedAt    string            `json:"startedAt"`
	RedriveCount int               `json:"redriveCount"`
	Steps        []json.RawMessage `json:"steps"`
}

func decode[T any](t testing.TB, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("got body %s: %v", body, err)
	}
	return v
}

// setCaller puts a principal in a proxy event as the authorizer would.
func setCaller(e map[string]any, p map[string]any) {
	auth := map[string]any{"principalId": p["user"]}
	maps.Copy(auth, p)
	e["requestContext"].(map[string]any)["authorizer"] = auth
}

// setSandbox points a /sandbox-plans/{sandbox} event at sandbox.
func setSandbox(e map[string]any, sandbox string) {
	e["pathParameters"] = map[string]any{"sandbox": sandbox}
	e["path"] = "/sandbox-plans/" + sandbox
	e["requestContext"].(map[string]any)["path"] = "/v1/sandbox-plans/" + sandbox
}

// setRunID points a /sandbox-refreshes/{id} event at id.
func setRunID(e map[string]any, id string) {
	e["pathParameters"] = map[string]any{"id": id}
	e["path"] = "/sandbox-refreshes/" + id
	e["requestContext"].(map[string]any)["path"] = "/v1/sandbox-refreshes/" + id
}

// editBody edits the JSON object body of a proxy event.
func editBody(t testing.TB, e map[string]any, edit func(body map[string]any)) {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal([]byte(e["body"].(string)), &body); err != nil {
		t.Fatal(err)
	}
	edit(body)
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	e["body"] = string(b)
}

// planEvent is put-sandbox-plan.json for sandbox, with edit applied to the plan.
func planEvent(t testing.TB, sandbox string, edit func(plan map[string]any)) []byte {
	t.Helper()
	return editEvent(t, "put-sandbox-plan.json", func(e map[string]any) {
		setSandbox(e, sandbox)
		if edit != nil {
			editBody(t, e, edit)
		}
	})
}

// startEvent is start-sandbox-refresh.json for sandbox.
func startEvent(t testing.TB, sandbox string) []byte {
	t.Helper()
	return editEvent(t, "start-sandbox-refresh.json", func(e map[string]any) { e["body"] = `{"sandbox":"` + sandbox + `"}` })
}

// getRunEvent is get-sandbox-refresh.json for run id.
func getRunEvent(t testing.TB, id string) []byte {
	t.Helper()
	return editEvent(t, "get-sandbox-refresh.json", func(e map[string]any) { setRunID(e, id) })
}

// requestedEvent is sandbox-refresh-requested.json with another id and detail.
func requestedEvent(t testing.TB, id string, detail map[string]any) []byte {
	t.Helper()
	return editEvent(t, "sandbox-refresh-requested.json", func(e map[string]any) {
		e["id"], e["detail"] = id, detail
	})
}

// deliver hands an EventBridge event to the event function as the rule's
// asynchronous invoke does; a handled event answers null.
func (s *stack) deliver(t testing.TB, event []byte) {
	t.Helper()
	out, err := invoke(t, s.fns["SandboxRefreshEventsFunction"], event)
	if err != nil {
		t.Fatalf("deliver the event: %v", err)
	}
	if string(out) != "null" {
		t.Fatalf("the function answered %s to an event, want null", out)
	}
}

// executionOf is the execution of tenant's run id in moto's state machine.
func (s *stack) executionOf(tenant, id string) string {
	return strings.Replace(s.pipeline.machineARN, ":stateMachine:", ":execution:", 1) + ":" + runs.ExecutionName(tenant, id)
}

// startRun starts a run of sandbox through the binary (as start-sandbox-refresh.json) and checks the answer.
func (s *stack) startRun(t testing.TB, sandbox string) runView {
	t.Helper()
	resp := s.call(t, "SandboxRefreshesFunction", startEvent(t, sandbox))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start: got %d %s, want 202", resp.StatusCode, resp.Body)
	}
	run := decode[runView](t, resp.Body)
	if run.Status != "RUNNING" || run.Sandbox != sandbox || !strings.HasPrefix(run.ID, sandbox+"-") || resp.Headers["Location"] != "/sandbox-refreshes/"+run.ID {
		t.Fatalf("start: got %+v (Location %q), want a RUNNING run of %s", run, resp.Headers["Location"], sandbox)
	}
	return run
}

// wantExecution checks that moto holds a RUNNING execution of tenant's run id whose input is that run.
func (s *stack) wantExecution(t testing.TB, tenant, id, sandbox string) runs.Input {
	t.Helper()
	ex := s.pipeline.execution(t, s.executionOf(tenant, id))
	if ex.Status != "RUNNING" {
		t.Fatalf("execution of %s is %s, want RUNNING", id, ex.Status)
	}
	in := decode[runs.Input](t, aws.ToString(ex.Input))
	if in.RunID != id || in.Tenant != tenant || in.Sandbox != sandbox || in.Plan.Sandbox != sandbox ||
		!in.Deadline.Equal(in.RequestedAt.Add(time.Duration(in.Plan.TimeoutHours)*time.Hour)) {
		t.Fatalf("execution input %+v, want run %s of %s/%s with its plan and deadline", in, id, tenant, sandbox)
	}
	return in
}

// wantPublished checks that exactly one event was put on the bus since the last look.
func (s *stack) wantPublished(t testing.TB, detailType string, detail map[string]any) {
	t.Helper()
	got := s.pipeline.published(t)
	if len(got) != 1 {
		t.Fatalf("%d events were put on the bus, want one %q: %+v", len(got), detailType, got)
	}
	var d map[string]any
	if err := json.Unmarshal(got[0].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if got[0].Source != "dcs-access" || got[0].DetailType != detailType || !reflect.DeepEqual(d, detail) {
		t.Fatalf("got %s %q %s, want dcs-access %q %v", got[0].Source, got[0].DetailType, got[0].Detail, detailType, detail)
	}
}

// wantSchedule checks that moto holds exactly one schedule, for acme's
// sandbox, which puts a "Sandbox Refresh Requested" for it on the stack's bus.
func (s *stack) wantSchedule(t testing.TB, sandbox, expression string) {
	t.Helper()
	list := s.pipeline.schedules(t)
	if len(list) != 1 {
		t.Fatalf("moto holds %d schedules, want 1 for %s", len(list), sandbox)
	}
	for name, got := range list {
		target := got.Target
		var input map[string]any
		if target != nil {
			_ = json.Unmarshal([]byte(aws.ToString(target.Input)), &input)
		}
		if aws.ToString(got.ScheduleExpression) != expression || got.State != "ENABLED" || target == nil ||
			aws.ToString(target.Arn) != s.pipeline.busARN || aws.ToString(target.RoleArn) != s.pipeline.schedulerRoleARN ||
			target.EventBridgeParameters == nil || aws.ToString(target.EventBridgeParameters.DetailType) != "Sandbox Refresh Requested" ||
			!reflect.DeepEqual(input, map[string]any{"tenant": "acme", "sandbox": sandbox}) {
			t.Fatalf("schedule %s is %s %s with target %+v, want %s putting a refresh request of acme/%s on the bus",
				name, aws.ToString(got.ScheduleExpression), got.State, target, expression, sandbox)
		}
	}
}

// wantStepError checks a PipelineStepsFunction answer: the function error
// whose errorType the state machine's Retry and Catch match, with a message
// that says each of messages.
func wantStepError(t testing.TB, out []byte, err error, errorType string, messages ...string) {
	t.Helper()
	var fe *FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("got %s, %v; want the function error %s", out, err, errorType)
	}
	if fe.Type != errorType {
		t.Fatalf("got %s: %s; want %s", fe.Type, fe.Message, errorType)
	}
	for _, m := range messages {
		if !strings.Contains(fe.Message, m) {
			t.Fatalf("got %s: %s; want the message to say %q", fe.Type, fe.Message, m)
		}
	}
}

// stepEvent is pipeline-step.json with edit applied to its run state.
func stepEvent(t testing.TB, step string, edit func(run map[string]any)) []byte {
	t.Helper()
	return editEvent(t, "pipeline-step.json", func(e map[string]any) {
		e["step"] = step
		if edit != nil {
			edit(e["run"].(map[string]any))
		}
	})
}

// inTime moves a run state's deadline a day ahead, so the step gets past its deadline check.
func inTime(run map[string]any) {
	run["deadline"] = time.Now().UTC().Add(24 * time.Hour).Format(time.RFC3339)
}

// feedPipelineSamples feeds the pipeline's sample events, each as written at
// least once, in the order a person would try them: it is part of
// TestSampleEventsThroughTheBinaries, on its stack.
func (s *stack) feedPipelineSamples(t *testing.T, feed func(string) string) {
	var saved plans.Plan
	t.Run("put-sandbox-plan.json creates the plan of uat1", func(t *testing.T) {
		resp := s.call(t, "SandboxPlansFunction", readEvent(t, feed("put-sandbox-plan.json")))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("got %d %s, want 201", resp.StatusCode, resp.Body)
		}
		if resp.Headers["Access-Control-Allow-Origin"] != consoleOrigin || resp.Headers["Cache-Control"] != "no-store" {
			t.Errorf("got headers %v, want CORS for %s and no-store", resp.Headers, consoleOrigin)
		}
		saved = decode[plans.Plan](t, resp.Body)
		if saved.Sandbox != "uat1" || saved.UpdatedBy != "ada@example.com" || saved.UpdatedAt.IsZero() ||
			saved.TimeoutHours != 48 || len(saved.NonProdUsers) != 1 ||
			saved.Salesforce.PrivateKeySecretARN != sampleSecrets+"salesforce-jwt-key-h7Kq2P" ||
			saved.DCS.APITokenSecretARN != sampleSecrets+"dcs-api-token-Qm8Zr4" {
			t.Fatalf("got %+v, want the sample plan of uat1 by ada@example.com", saved)
		}
		s.wantSchedule(t, "uat1", "cron(0 2 ? * SUN *)")
	})
	if saved.Sandbox == "" {
		t.Fatal("put-sandbox-plan.json stored no plan; the cases below need it")
	}

	t.Run("get-sandbox-plan.json reads it back", func(t *testing.T) {
		resp := s.call(t, "SandboxPlansFunction", readEvent(t, feed("get-sandbox-plan.json")))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got %d %s, want 200", resp.StatusCode, resp.Body)
		}
		if got := decode[plans.Plan](t, resp.Body); !reflect.DeepEqual(got, saved) {
			t.Fatalf("got %+v, want what was put: %+v", got, saved)
		}
	})

	var started runView
	t.Run("start-sandbox-refresh.json starts a run of uat1", func(t *testing.T) {
		resp := s.call(t, "SandboxRefreshesFunction", readEvent(t, feed("start-sandbox-refresh.json")))
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("got %d %s, want 202", resp.StatusCode, resp.Body)
		}
		started = decode[runView](t, resp.Body)
		if started.Status != "RUNNING" || started.Sandbox != "uat1" || started.Source != "api" ||
			started.RequestedBy != "ada@example.com" || resp.Headers["Location"] != "/sandbox-refreshes/"+started.ID {
			t.Fatalf("got %+v (Location %q), want a RUNNING run of uat1 requested through the API by ada@example.com",
				started, resp.Headers["Location"])
		}
		in := s.wantExecution(t, "acme", started.ID, "uat1")
		if !reflect.DeepEqual(in.Plan, saved) {
			t.Errorf("the execution's plan is %+v, want the stored plan %+v", in.Plan, saved)
		}
		if n := len(s.pipeline.executions(t)); n != 1 {
			t.Errorf("moto holds %d executions, want 1", n)
		}
	})
	if started.ID == "" {
		t.Fatal("start-sandbox-refresh.json started no run; the cases below need it")
	}

	t.Run("start-sandbox-refresh.json again while the run is on is refused", func(t *testing.T) {
		resp := s.call(t, "SandboxRefreshesFunction", readEvent(t, "start-sandbox-refresh.json"))
		if resp.StatusCode != http.StatusConflict || errorCode(t, resp) != "RUN_IN_PROGRESS" || !strings.Contains(resp.Body, started.ID) {
			t.Fatalf("got %d %s, want 409 RUN_IN_PROGRESS naming %s", resp.StatusCode, resp.Body, started.ID)
		}
		if n := len(s.pipeline.executions(t)); n != 1 {
			t.Errorf("moto holds %d executions, want still 1", n)
		}
	})

	t.Run("get-sandbox-refresh.json as written finds no such run", func(t *testing.T) {
		resp := s.call(t, "SandboxRefreshesFunction", readEvent(t, feed("get-sandbox-refresh.json")))
		if resp.StatusCode != http.StatusNotFound || errorCode(t, resp) != "RUN_NOT_FOUND" {
			t.Fatalf("got %d %s, want 404 RUN_NOT_FOUND", resp.StatusCode, resp.Body)
		}
	})

	t.Run("get-sandbox-refresh.json with the run's id shows it running", func(t *testing.T) {
		resp := s.call(t, "SandboxRefreshesFunction", getRunEvent(t, started.ID))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got %d %s, want 200", resp.StatusCode, resp.Body)
		}
		got := decode[runView](t, resp.Body)
		if got.ID != started.ID || got.Status != "RUNNING" || got.Sandbox != "uat1" || got.Source != "api" ||
			got.RequestedAt != started.RequestedAt || got.StartedAt == "" || got.Steps == nil {
			t.Fatalf("got %+v, want run %s RUNNING", got, started.ID)
		}
	})

	t.Run("sandbox-refresh-requested.json starts one run however often it is delivered", func(t *testing.T) {
		// The API's run ends (aborted), which frees the sandbox.
		s.pipeline.stop(t, s.executionOf("acme", started.ID))
		event := readEvent(t, feed("sandbox-refresh-requested.json"))
		s.deliver(t, event)
		list := s.pipeline.executions(t)
		if len(list) != 2 {
			t.Fatalf("moto holds %d executions after the request, want 2 (the aborted one and the new one)", len(list))
		}
		var id string
		for _, ex := range list {
			if name := aws.ToString(ex.Name); name != runs.ExecutionName("acme", started.ID) {
				id = strings.TrimPrefix(name, runs.ExecutionName("acme", "")) // the run id behind the tenant hash
			}
		}
		// The run is named after the event's time and id.
		if !strings.HasPrefix(id, "uat1-20261127t112500z-") {
			t.Fatalf("the new execution is of run %q, want uat1-20261127t112500z-…", id)
		}
		s.wantExecution(t, "acme", id, "uat1")
		s.deliver(t, event) // EventBridge delivers at least once
		if n := len(s.pipeline.executions(t)); n != 2 {
			t.Fatalf("moto holds %d executions after the same event again, want still 2", n)
		}
		resp := s.call(t, "SandboxRefreshesFunction", getRunEvent(t, id))
		got := decode[runView](t, resp.Body)
		if resp.StatusCode != http.StatusOK || got.Source != "event" || got.RequestedBy != "com.acme.release-pipeline" || got.Status != "RUNNING" {
			t.Fatalf("got %d %s, want the RUNNING run requested by the event's source", resp.StatusCode, resp.Body)
		}
	})

	t.Run("execution-status-change.json announces that the run succeeded", func(t *testing.T) {
		s.pipeline.published(t) // nothing before counts
		s.deliver(t, readEvent(t, feed("execution-status-change.json")))
		s.wantPublished(t, runs.DetailSucceeded, map[string]any{"runId": sampleRunID, "tenant": "acme", "sandbox": "uat1"})
	})

	t.Run("pipeline-step.json as written is past its run's deadline", func(t *testing.T) {
		out, err := invoke(t, s.fns["PipelineStepsFunction"], readEvent(t, feed("pipeline-step.json")))
		wantStepError(t, out, err, "RunTimedOut", "the run passed its deadline of 2026-11-22T02:00:00Z")
	})
}

func TestSandboxPlansThroughTheBinary(t *testing.T) {
	s := newStack(t)
	f := s.start(t, "SandboxPlansFunction", s.env(t, "SandboxPlansFunction"))
	s.fns["SandboxPlansFunction"] = f

	if resp := s.call(t, "SandboxPlansFunction", planEvent(t, "uat2", nil)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("put: got %d %s, want 201", resp.StatusCode, resp.Body)
	}
	cases := []struct {
		name   string
		event  []byte
		status int
		code   string
	}{
		{"putting the plan again replaces it", planEvent(t, "uat2", func(p map[string]any) { p["timeoutHours"] = 24 }), http.StatusOK, ""},
		{"a plan naming another tenant's secret is refused", planEvent(t, "uat2", func(p map[string]any) {
			p["dcs"].(map[string]any)["apiTokenSecretArn"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dcs-access/globex/dcs-api-token-Zz9Yy8"
		}), http.StatusBadRequest, "INVALID_PLAN"},
		{"a plan whose body names another sandbox is refused", planEvent(t, "uat2", func(p map[string]any) { p["sandbox"] = "uat3" }),
			http.StatusBadRequest, "INVALID_PLAN"},
		{"a plan with an unknown field is refused", planEvent(t, "uat2", func(p map[string]any) { p["autoActivation"] = true }),
			http.StatusBadRequest, "INVALID_BODY"},
		{"an API token cannot change a plan", editEvent(t, "put-sandbox-plan.json", func(e map[string]any) {
			setCaller(e, principal("ada@example.com", "acme", "api_token", "019ac5e2-7b3f-7c1e-9a4d-3f2b1c0d9e8f"))
		}), http.StatusForbidden, "SESSION_REQUIRED"},
		{"another tenant does not see the plan", editEvent(t, "get-sandbox-plan.json", func(e map[string]any) {
			setSandbox(e, "uat2")
			setCaller(e, principal("grace@example.com", "globex", "session", ""))
		}), http.StatusNotFound, "PLAN_NOT_FOUND"},
		{"a request without the authorizer's context is refused", editEvent(t, "get-sandbox-plan.json", func(e map[string]any) {
			e["requestContext"].(map[string]any)["authorizer"] = nil
		}), http.StatusUnauthorized, "UNAUTHORIZED"},
		{"a route the function does not serve is not found", readEvent(t, "whoami.json"), http.StatusNotFound, "NOT_FOUND"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := s.call(t, "SandboxPlansFunction", c.event)
			if resp.StatusCode != c.status || (c.code != "" && errorCode(t, resp) != c.code) {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, resp.Body, c.status, c.code)
			}
		})
	}
	// Each plan is checked against the org it names, through the function's
	// own HTTPS client: what Salesforce refuses is a 400 naming the field.
	refused := []struct {
		name, says string
		event      []byte
	}{
		{"a plan for a sandbox production does not have is refused", "sandbox: production has no sandbox named uat9", planEvent(t, "uat9", nil)},
		{"a plan naming an Apex class production does not have is refused", `apexClassName names the Apex class \"NoSuchClass\"`,
			planEvent(t, "uat2", func(p map[string]any) { p["apexClassName"] = "NoSuchClass" })},
		{"a plan whose key secret does not exist is refused", "salesforce.privateKeySecretArn: the secret cannot be read",
			planEvent(t, "uat2", func(p map[string]any) {
				p["salesforce"].(map[string]any)["privateKeySecretArn"] = sampleSecrets + "no-such-key-AbCdEf"
			})},
		{"a plan whose user production refuses to sign in is refused", "user hasn't approved this consumer",
			planEvent(t, "uat2", func(p map[string]any) { p["salesforce"].(map[string]any)["username"] = "nobody@acme.com" })},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			resp := s.call(t, "SandboxPlansFunction", c.event)
			if resp.StatusCode != http.StatusBadRequest || errorCode(t, resp) != "INVALID_PLAN" || !strings.Contains(resp.Body, c.says) {
				t.Fatalf("got %d %s, want 400 INVALID_PLAN saying %s", resp.StatusCode, resp.Body, c.says)
			}
		})
	}
	t.Run("the plan is the replaced one, with its schedule", func(t *testing.T) {
		resp := s.call(t, "SandboxPlansFunction", editEvent(t, "get-sandbox-plan.json", func(e map[string]any) { setSandbox(e, "uat2") }))
		if got := decode[plans.Plan](t, resp.Body); resp.StatusCode != http.StatusOK || got.TimeoutHours != 24 || got.Sandbox != "uat2" {
			t.Fatalf("got %d %s, want the plan of uat2 with timeoutHours 24", resp.StatusCode, resp.Body)
		}
		s.wantSchedule(t, "uat2", "cron(0 2 ? * SUN *)")
	})
	t.Run("a new schedule replaces the old one", func(t *testing.T) {
		resp := s.call(t, "SandboxPlansFunction", planEvent(t, "uat2", func(p map[string]any) { p["schedule"] = "cron(30 1 ? * SAT *)" }))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got %d %s, want 200", resp.StatusCode, resp.Body)
		}
		s.wantSchedule(t, "uat2", "cron(30 1 ? * SAT *)")
	})
	t.Run("a plan put without a schedule has none", func(t *testing.T) {
		resp := s.call(t, "SandboxPlansFunction", planEvent(t, "uat2", func(p map[string]any) { delete(p, "schedule") }))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got %d %s, want 200", resp.StatusCode, resp.Body)
		}
		if got := s.pipeline.schedules(t); len(got) != 0 {
			t.Fatalf("moto holds schedules %v, want none", slices.Collect(maps.Keys(got)))
		}
	})
	t.Run("a deleted plan is gone, and so is its schedule", func(t *testing.T) {
		if resp := s.call(t, "SandboxPlansFunction", planEvent(t, "uat2", nil)); resp.StatusCode != http.StatusOK {
			t.Fatalf("put: got %d %s, want 200", resp.StatusCode, resp.Body)
		}
		s.wantSchedule(t, "uat2", "cron(0 2 ? * SUN *)")
		del := editEvent(t, "get-sandbox-plan.json", func(e map[string]any) {
			setSandbox(e, "uat2")
			e["httpMethod"] = http.MethodDelete
			e["requestContext"].(map[string]any)["httpMethod"] = http.MethodDelete
		})
		if resp := s.call(t, "SandboxPlansFunction", del); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: got %d %s, want 204", resp.StatusCode, resp.Body)
		}
		if got := s.pipeline.schedules(t); len(got) != 0 {
			t.Fatalf("moto holds schedules %v after the delete, want none", slices.Collect(maps.Keys(got)))
		}
		resp := s.call(t, "SandboxPlansFunction", editEvent(t, "get-sandbox-plan.json", func(e map[string]any) { setSandbox(e, "uat2") }))
		if resp.StatusCode != http.StatusNotFound || errorCode(t, resp) != "PLAN_NOT_FOUND" {
			t.Fatalf("get after the delete: got %d %s, want 404 PLAN_NOT_FOUND", resp.StatusCode, resp.Body)
		}
	})
}

func TestSandboxRefreshesThroughTheBinaries(t *testing.T) {
	s := newStack(t)
	for _, name := range []string{"SandboxPlansFunction", "SandboxRefreshesFunction", "SandboxRefreshEventsFunction"} {
		s.fns[name] = s.start(t, name, s.env(t, name))
	}
	for _, sandbox := range []string{"uat1", "uat2"} {
		if resp := s.call(t, "SandboxPlansFunction", planEvent(t, sandbox, nil)); resp.StatusCode != http.StatusCreated {
			t.Fatalf("put the plan of %s: got %d %s, want 201", sandbox, resp.StatusCode, resp.Body)
		}
	}

	running := s.startRun(t, "uat1")
	s.wantExecution(t, "acme", running.ID, "uat1")

	t.Run("a second start while the run is on is refused", func(t *testing.T) {
		resp := s.call(t, "SandboxRefreshesFunction", startEvent(t, "UAT1")) // sandbox names are case-insensitive
		if resp.StatusCode != http.StatusConflict || errorCode(t, resp) != "RUN_IN_PROGRESS" {
			t.Fatalf("got %d %s, want 409 RUN_IN_PROGRESS", resp.StatusCode, resp.Body)
		}
	})

	t.Run("a start without a plan is not found", func(t *testing.T) {
		resp := s.call(t, "SandboxRefreshesFunction", startEvent(t, "dev7"))
		if resp.StatusCode != http.StatusNotFound || errorCode(t, resp) != "PLAN_NOT_FOUND" {
			t.Fatalf("got %d %s, want 404 PLAN_NOT_FOUND", resp.StatusCode, resp.Body)
		}
	})

	t.Run("another tenant does not see the run", func(t *testing.T) {
		resp := s.call(t, "SandboxRefreshesFunction", editEvent(t, "get-sandbox-refresh.json", func(e map[string]any) {
			setRunID(e, running.ID)
			setCaller(e, principal("grace@example.com", "globex", "session", ""))
		}))
		if resp.StatusCode != http.StatusNotFound || errorCode(t, resp) != "RUN_NOT_FOUND" {
			t.Fatalf("got %d %s, want 404 RUN_NOT_FOUND", resp.StatusCode, resp.Body)
		}
	})

	t.Run("requests that cannot start a run start nothing and are dropped", func(t *testing.T) {
		for i, detail := range []map[string]any{
			{"tenant": "acme", "sandbox": "uat1"},                     // the sandbox's run is on
			{"tenant": "acme", "sandbox": "dev7"},                     // the sandbox has no plan
			{"tenant": "globex", "sandbox": "uat2"},                   // the tenant has no such plan
			{"tenant": "acme", "sandbox": "uat2", "priority": "high"}, // the detail is not {tenant, sandbox}
			{"tenant": "acme"},                                        // the detail names no sandbox
		} {
			s.deliver(t, requestedEvent(t, fmt.Sprintf("b1f0c3d2-7e6a-4f5b-8c9d-%012d", i), detail))
		}
		s.deliver(t, editEvent(t, "sandbox-refresh-requested.json", func(e map[string]any) { e["detail-type"] = "Sandbox Refresh Wanted" }))
		if n := len(s.pipeline.executions(t)); n != 1 {
			t.Fatalf("moto holds %d executions, want only the API's run", n)
		}
	})

	t.Run("a refresh request sent to the API function starts nothing", func(t *testing.T) {
		event := requestedEvent(t, "3c9d2e1f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", map[string]any{"tenant": "acme", "sandbox": "uat2"})
		resp := s.call(t, "SandboxRefreshesFunction", event)
		if resp.StatusCode != http.StatusNotFound || errorCode(t, resp) != "NOT_FOUND" {
			t.Fatalf("got %d %s, want 404 NOT_FOUND (an event is no route)", resp.StatusCode, resp.Body)
		}
		if n := len(s.pipeline.executions(t)); n != 1 {
			t.Fatalf("moto holds %d executions, want only the API's run", n)
		}
	})

	t.Run("an API request sent to the event function starts nothing", func(t *testing.T) {
		s.deliver(t, startEvent(t, "uat2"))
		if n := len(s.pipeline.executions(t)); n != 1 {
			t.Fatalf("moto holds %d executions, want only the API's run", n)
		}
	})

	var fromEvent string
	t.Run("a requested refresh with a plan starts one run however often it is delivered", func(t *testing.T) {
		event := requestedEvent(t, "0f4c7a1e-5d2b-4c8e-9a3f-6b1d2e3f4a5b", map[string]any{"tenant": "acme", "sandbox": "uat2"})
		for range 3 {
			s.deliver(t, event)
		}
		list := s.pipeline.executions(t)
		if len(list) != 2 {
			t.Fatalf("moto holds %d executions, want 2 (the API's run of uat1 and one run of uat2)", len(list))
		}
		for _, ex := range list {
			if name := aws.ToString(ex.Name); strings.Contains(name, "-uat2-") {
				fromEvent = strings.TrimPrefix(name, runs.ExecutionName("acme", ""))
			}
		}
		s.wantExecution(t, "acme", fromEvent, "uat2")
	})

	t.Run("a run that succeeded is announced", func(t *testing.T) {
		s.pipeline.published(t)
		s.deliver(t, s.statusChange(t, running.ID, "SUCCEEDED", "", ""))
		s.wantPublished(t, runs.DetailSucceeded, map[string]any{"runId": running.ID, "tenant": "acme", "sandbox": "uat1"})
	})

	t.Run("a run that failed is announced with its error's code and message", func(t *testing.T) {
		if fromEvent == "" {
			t.Fatal("no run of uat2 started")
		}
		s.pipeline.published(t)
		cause := `{"errorMessage":"read the DCS API token secret: ResourceNotFoundException","errorType":"PermanentError"}`
		s.deliver(t, s.statusChange(t, fromEvent, "FAILED", "PermanentError", cause))
		s.wantPublished(t, runs.DetailFailed, map[string]any{
			"runId": fromEvent, "tenant": "acme", "sandbox": "uat2", "status": "FAILED",
			"error": "PERMANENT_ERROR", "cause": "read the DCS API token secret: ResourceNotFoundException",
		})
	})

	t.Run("a status change of a running execution is not announced", func(t *testing.T) {
		s.pipeline.published(t)
		s.deliver(t, s.statusChange(t, running.ID, "RUNNING", "", ""))
		if got := s.pipeline.published(t); len(got) != 0 {
			t.Fatalf("got %+v put on the bus, want nothing", got)
		}
	})
}

// statusChange is execution-status-change.json for the execution of run id
// (acme's) as moto holds it, with status, error and cause.
func (s *stack) statusChange(t testing.TB, id, status, errName, cause string) []byte {
	t.Helper()
	arn := s.executionOf("acme", id)
	ex := s.pipeline.execution(t, arn)
	return editEvent(t, "execution-status-change.json", func(e map[string]any) {
		e["resources"] = []any{arn}
		d := e["detail"].(map[string]any)
		d["executionArn"], d["stateMachineArn"], d["name"] = arn, s.pipeline.machineARN, aws.ToString(ex.Name)
		d["input"], d["status"] = aws.ToString(ex.Input), status
		d["startDate"] = aws.ToTime(ex.StartDate).UnixMilli()
		d["output"], d["outputDetails"], d["error"], d["cause"] = nil, nil, nil, nil
		if status == "SUCCEEDED" {
			d["output"], d["outputDetails"] = aws.ToString(ex.Input), map[string]any{"included": true}
		}
		if errName != "" {
			d["error"], d["cause"] = errName, cause
		}
	})
}

func TestPipelineStepsThroughTheBinary(t *testing.T) {
	s := newStack(t)
	f := s.start(t, "PipelineStepsFunction", s.env(t, "PipelineStepsFunction"))
	// Secrets that exist in moto but whose values are unusable: a step that
	// reads one fails on the value, which shows it was read through the
	// function's Secrets Manager endpoint, before any Salesforce or DCS call.
	badToken := s.pipeline.createSecret(t, "dcs-api-token", "not a token")
	badKey := s.pipeline.createSecret(t, "salesforce-jwt-key", "-----BEGIN NOTHING-----")

	invalid := "the run's plan is not valid"
	cases := []struct {
		name      string
		event     []byte
		errorType string
		message   []string
	}{
		{"a step whose plan names a secret that does not exist", stepEvent(t, "checkMasking", inTime),
			"PermanentError", []string{"read the DCS API token secret: secret " + sampleSecrets + "dcs-api-token-Qm8Zr4"}},
		{"the missing secret is Secrets Manager's answer", stepEvent(t, "checkMasking", inTime),
			"PermanentError", []string{"ResourceNotFoundException"}},
		{"a DCS token secret that holds no token", stepEvent(t, "checkMasking", func(run map[string]any) {
			inTime(run)
			run["plan"].(map[string]any)["dcs"].(map[string]any)["apiTokenSecretArn"] = badToken
		}), "PermanentError", []string{"the DCS connection: dcs: Token must be printable ASCII without spaces"}},
		{"a Salesforce key secret that holds no key", stepEvent(t, "prepareRefresh", func(run map[string]any) {
			run["plan"].(map[string]any)["salesforce"].(map[string]any)["privateKeySecretArn"] = badKey
		}), "PermanentError", []string{"the Salesforce private key secret: not a PEM private key"}},
		{"an unknown step", stepEvent(t, "maskSandbox", nil), "PermanentError", []string{`unknown step "maskSandbox"`}},
		{"a plan naming another tenant's secret", stepEvent(t, "startMasking", func(run map[string]any) {
			run["plan"].(map[string]any)["dcs"].(map[string]any)["apiTokenSecretArn"] =
				"arn:aws:secretsmanager:us-east-1:123456789012:secret:dcs-access/globex/dcs-api-token-Zz9Yy8"
		}), "PermanentError", []string{invalid, "dcs.apiTokenSecretArn must name a secret called dcs-access/acme/"}},
		{"a run of another tenant naming this one's secret", stepEvent(t, "startMasking", func(run map[string]any) { run["tenant"] = "globex" }),
			"PermanentError", []string{invalid, "salesforce.privateKeySecretArn must name a secret called dcs-access/globex/"}},
		{"a plan aiming DCS at an internal address", stepEvent(t, "startMasking", func(run map[string]any) {
			run["plan"].(map[string]any)["dcs"].(map[string]any)["baseUrl"] = "https://169.254.169.254"
		}), "PermanentError", []string{invalid, "dcs.baseUrl must name a public host"}},
		{"a masking check before masking started", stepEvent(t, "checkMasking", func(run map[string]any) {
			inTime(run)
			delete(run, "masking")
		}), "PermanentError", []string{"checkMasking ran before startMasking"}},
		{"a masking check past the run's deadline", stepEvent(t, "checkMasking", nil), "RunTimedOut", []string{"the run passed its deadline"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := invoke(t, f, c.event)
			wantStepError(t, out, err, c.errorType, c.message...)
		})
	}
}
