package dynamo_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/runs"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// storeOps calls every method of the store once.
var storeOps = map[string]func(ctx context.Context, st *dynamo.Store) error{
	"Get": func(ctx context.Context, st *dynamo.Store) error {
		_, err := st.Get(ctx, "acme", uuid.NewString())
		return err
	},
	"List": func(ctx context.Context, st *dynamo.Store) error {
		_, _, err := st.List(ctx, "acme", 10, "")
		return err
	},
	"Create": func(ctx context.Context, st *dynamo.Store) error {
		return st.Create(ctx, token("acme", "x", t0), access.DefaultPolicy(), audittest.TokenCreated("acme", "test"))
	},
	"Delete": func(ctx context.Context, st *dynamo.Store) error {
		return st.Delete(ctx, "acme", uuid.NewString(), tokens.Deleter{}, audittest.TokenDeleted("acme", uuid.NewString()))
	},
	"Revoke": func(ctx context.Context, st *dynamo.Store) error {
		_, err := st.Revoke(ctx, "acme", uuid.NewString(), audittest.TokenDeleted("acme", uuid.NewString()))
		return err
	},
	"RecordUse": func(ctx context.Context, st *dynamo.Store) error {
		_, err := st.RecordUse(ctx, token("acme", "x", t0), t0, "203.0.113.7", t0.Add(-5*time.Minute))
		return err
	},
	"PutPlan": func(ctx context.Context, st *dynamo.Store) error {
		_, err := st.PutPlan(ctx, "acme", plans.Plan{Sandbox: "uat1"}, audittest.PlanSaved("acme"))
		return err
	},
	"GetPlan": func(ctx context.Context, st *dynamo.Store) error {
		_, err := st.GetPlan(ctx, "acme", "uat1")
		return err
	},
	"ListPlans": func(ctx context.Context, st *dynamo.Store) error { _, err := st.ListPlans(ctx, "acme"); return err },
	"DeletePlan": func(ctx context.Context, st *dynamo.Store) error {
		return st.DeletePlan(ctx, "acme", "uat1", audittest.PlanDeleted("acme"))
	},
	"RunIDForKey": func(ctx context.Context, st *dynamo.Store) error {
		_, err := st.RunIDForKey(ctx, "acme", "uat1", "k")
		return err
	},
	"ActiveRun": func(ctx context.Context, st *dynamo.Store) error {
		_, err := st.ActiveRun(ctx, "acme", "uat1")
		return err
	},
	"ClaimRun": func(ctx context.Context, st *dynamo.Store) error {
		return st.ClaimRun(ctx, runs.Run{ID: uuid.NewString(), Tenant: "acme", Sandbox: "uat1", RequestedAt: t0}, "", audittest.RunStarted("acme", "run"))
	},
	"GetRun": func(ctx context.Context, st *dynamo.Store) error {
		_, err := st.GetRun(ctx, "acme", uuid.NewString())
		return err
	},
	"ListRuns": func(ctx context.Context, st *dynamo.Store) error {
		_, err := st.ListRuns(ctx, "acme", "uat1", 10)
		return err
	},
}

// storeAt is a store whose client calls endpoint, retrying as in AWS.
func storeAt(t *testing.T, endpoint string, attempts int) *dynamo.Store {
	t.Helper()
	cfg := awsconfig.Local(endpoint)
	cfg.RetryMaxAttempts = attempts
	client, err := ddb.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dynamo.New(client, "t", func() time.Time { return t0 })
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// A store that cannot be reached, or that says it is overloaded, is worth
// retrying: 503 UNAVAILABLE, never 500 INTERNAL (which says "our bug").
func TestAStoreThatCannotBeReachedIsUnavailable(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets the handlers return
	hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // the connection drops mid-request
		}
	}))
	t.Cleanup(hangUp.Close)
	overloaded := func(status int, code string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#` + code + `","message":"try again"}`))
		}))
		t.Cleanup(s.Close)
		return s
	}
	tests := []struct {
		name     string
		endpoint string
		timeout  time.Duration
	}{
		{"connection refused (DynamoDB Local stopped)", "http://" + closedPort(t), 5 * time.Second},
		{"no answer before the deadline", hang.URL, 300 * time.Millisecond},
		{"the connection drops", hangUp.URL, 5 * time.Second},
		{"DynamoDB is throttling", overloaded(400, "ThrottlingException").URL, 5 * time.Second},
		{"DynamoDB has an internal error", overloaded(500, "InternalServerError").URL, 5 * time.Second},
		{"DynamoDB is unavailable", overloaded(503, "ServiceUnavailable").URL, 5 * time.Second},
	}
	for _, tt := range tests {
		for name, op := range storeOps {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
				defer cancel()
				err := op(ctx, storeAt(t, tt.endpoint, 1))
				if e := access.AsError(err); err == nil || e.Kind != access.EUNAVAILABLE || e.Code != "UNAVAILABLE" {
					t.Fatalf("got %v (kind %v), want EUNAVAILABLE with code UNAVAILABLE", err, kindOf(err))
				}
			})
		}
	}
}

// The positive control: a request DynamoDB answers with a client error is
// not "unavailable", retrying it cannot help.
func TestAStoreThatAnswersWithAnErrorIsNotUnavailable(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"no such table"}`))
	}))
	t.Cleanup(bad.Close)
	for name, op := range storeOps {
		err := op(context.Background(), storeAt(t, bad.URL, 1))
		if err == nil || kindOf(err) == access.EUNAVAILABLE {
			t.Errorf("%s: got %v, want an error that is not EUNAVAILABLE", name, err)
		}
	}
}
