package dynamo_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// loseFirstTransactAnswer sends each request to DynamoDB Local, but answers
// the first TransactWriteItems with a 500 after DynamoDB Local has carried
// it out: a transaction committed whose answer was lost on the way back.
type loseFirstTransactAnswer struct{ lost atomic.Bool }

func (l *loseFirstTransactAnswer) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil || !strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".TransactWriteItems") || l.lost.Swap(true) {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	body := `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}`
	return &http.Response{StatusCode: 500, Status: "500 Internal Server Error", Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req}, nil
}

// A create whose committed transaction's answer is lost is retried with
// the same request token, which DynamoDB answers as the write it already
// made: the create succeeds, once, instead of failing its own conditions
// ("token id exists") with the token stored.
func TestACommittedTransactionWhoseAnswerWasLostSucceedsOnItsRetry(t *testing.T) {
	_, table := testenv.Table(t)
	wire := &loseFirstTransactAnswer{}
	cfg := awsconfig.Local(testenv.DynamoDBEndpoint(t))
	cfg.HTTPClient = wire
	client, err := ddb.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := dynamo.New(client, table, func() time.Time { return t0 })
	tk := token("acme", "nightly masking", t0)
	if err := st.Create(context.Background(), tk, access.DefaultPolicy(), audittest.TokenCreated("acme", tk.ID)); err != nil {
		t.Fatalf("got %v, want the create to succeed on its retry", err)
	}
	if !wire.lost.Load() {
		t.Fatal("no answer was lost: the test tested nothing")
	}
	list, _, err := st.List(context.Background(), "acme", 10, "")
	if err != nil || len(list) != 1 || list[0].ID != tk.ID {
		t.Fatalf("got %v, %v, want the one token", list, err)
	}
}
