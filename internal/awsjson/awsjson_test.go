package awsjson_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/awsjson"
)

// The test credentials: each is a string no error may show.
const (
	accessKeyID  = "AKIDEXAMPLE7TESTKEY"
	secretKey    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	sessionToken = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN//////////"
)

var testService = awsjson.Service{ID: "Test Service", EndpointPrefix: "testsvc", SigningName: "testsvc", TargetPrefix: "TestService_20260101", Protocol: awsjson.JSON11}

// noBackoff retries at once, so that tests of retries take no time.
type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// config is a configuration for a client of url, with the test credentials
// and the SDK's standard retryer without its waits.
func config(url string) aws.Config {
	return aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secretKey, sessionToken),
		BaseEndpoint: aws.String(url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noBackoff{} })
		},
	}
}

// server answers each request with the next of answers (the last one
// again when they run out), and keeps the requests.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
	answers  []answer
}

type answer struct {
	status int
	header map[string]string
	body   string
}

func newServer(t *testing.T, answers ...answer) *server {
	t.Helper()
	s := &server{answers: answers}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.requests)
		s.requests, s.bodies = append(s.requests, r), append(s.bodies, body)
		a := s.answers[min(n, len(s.answers)-1)]
		s.mu.Unlock()
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("X-Amzn-Requestid", "req-"+string(rune('a'+n)))
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func newClient(t *testing.T, cfg aws.Config) *awsjson.Client {
	t.Helper()
	c, err := awsjson.New(cfg, testService)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestACallIsASignedPOSTOfTheInputWithTheTarget(t *testing.T) {
	s := newServer(t, answer{200, nil, `{"Plaintext":"aGVsbG8=","Done":1.7321960624529998E9}`})
	c := newClient(t, config(s.URL))
	var out struct {
		Plaintext []byte
		Done      awsjson.Time
	}
	if err := c.Call(context.Background(), "Decode", map[string]any{"KeyId": "k-1", "Blob": []byte("hi")}, &out); err != nil {
		t.Fatal(err)
	}
	if string(out.Plaintext) != "hello" {
		t.Errorf("got the blob %q, want it read from base64: hello", out.Plaintext)
	}
	if want := time.UnixMilli(1732196062452).UTC(); !out.Done.Equal(want) {
		t.Errorf("got the time %v, want %v (epoch seconds, to the millisecond)", out.Done, want)
	}

	r, body := s.requests[0], s.bodies[0]
	for name, want := range map[string]string{
		"method":               r.Method,
		"path":                 r.URL.Path,
		"Content-Type":         r.Header.Get("Content-Type"),
		"X-Amz-Target":         r.Header.Get("X-Amz-Target"),
		"X-Amz-Security-Token": r.Header.Get("X-Amz-Security-Token"),
		"body":                 string(body),
	} {
		expected := map[string]string{
			"method": "POST", "path": "/", "Content-Type": "application/x-amz-json-1.1",
			"X-Amz-Target": "TestService_20260101.Decode", "X-Amz-Security-Token": sessionToken,
			"body": `{"Blob":"aGk=","KeyId":"k-1"}`,
		}[name]
		if want != expected {
			t.Errorf("got %s %q, want %q", name, want, expected)
		}
	}
	auth := r.Header.Get("Authorization")
	date := r.Header.Get("X-Amz-Date")
	scope := "Credential=" + accessKeyID + "/" + date[:8] + "/eu-west-1/testsvc/aws4_request"
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 "+scope+", SignedHeaders=") {
		t.Fatalf("got Authorization %q, want SigV4 with the scope %s", auth, scope)
	}
	for _, h := range []string{"content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target"} {
		if !strings.Contains(auth, h) {
			t.Errorf("got Authorization %q, want %s among the signed headers", auth, h)
		}
	}
	// The signature is over what the server received: signing that again
	// at the same time, with the body's own hash, gives the same one.
	when, err := time.Parse("20060102T150405Z", date)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := http.NewRequest(r.Method, s.URL+r.URL.Path, strings.NewReader(string(body)))
	for _, h := range []string{"Content-Type", "X-Amz-Target", "Content-Length"} {
		again.Header.Set(h, r.Header.Get(h))
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretKey, SessionToken: sessionToken},
		again, hex.EncodeToString(sum[:]), "testsvc", "eu-west-1", when); err != nil {
		t.Fatal(err)
	}
	if got := again.Header.Get("Authorization"); got != auth {
		t.Errorf("got the signature %q, want the one of the request as received: %q", auth, got)
	}
}

func TestNoInputIsAnEmptyObjectAndJSON10HasItsContentType(t *testing.T) {
	s := newServer(t, answer{200, nil, ``})
	svc := testService
	svc.Protocol = awsjson.JSON10
	c, err := awsjson.New(config(s.URL), svc)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Anything string }
	if err := c.Call(context.Background(), "Ping", nil, &out); err != nil {
		t.Fatalf("got %v, want an empty answer accepted", err)
	}
	if got := string(s.bodies[0]); got != "{}" {
		t.Errorf("got the body %q, want {}", got)
	}
	if got := s.requests[0].Header.Get("Content-Type"); got != "application/x-amz-json-1.0" {
		t.Errorf("got Content-Type %q, want application/x-amz-json-1.0", got)
	}
}

func TestErrorAnswersBecomeAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    answer
		code      string
		message   string
		fault     smithy.ErrorFault
		attempts  int
		transient bool
	}{
		{"a 400 ResourceNotFoundException is the caller's and is not retried",
			answer{400, nil, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`},
			"ResourceNotFoundException", "Secrets Manager can't find the specified secret.", smithy.FaultClient, 1, false},
		{"a 400 ThrottlingException is retried to the last attempt",
			answer{400, nil, `{"__type":"ThrottlingException","message":"Rate exceeded"}`},
			"ThrottlingException", "Rate exceeded", smithy.FaultClient, 3, true},
		{"a 500 is the service's and is retried",
			answer{500, nil, `{"__type":"InternalFailure","Message":"We encountered an internal error."}`},
			"InternalFailure", "We encountered an internal error.", smithy.FaultServer, 3, true},
		{"a 503 without a JSON body is still an error with its status",
			answer{503, nil, `<html>Service Unavailable</html>`},
			"UnknownError", "Service Unavailable", smithy.FaultServer, 3, true},
		{"a JSON 1.0 __type with its namespace and URI is cut to the shape name",
			answer{400, nil, `{"__type":"com.amazonaws.swf.service.model#ExecutionDoesNotExist:http://internal.amazon.com/coral/com.amazon.coral.validate/","message":"Execution Does Not Exist"}`},
			"ExecutionDoesNotExist", "Execution Does Not Exist", smithy.FaultClient, 1, false},
		{"the X-Amzn-Errortype header comes before the body",
			answer{400, map[string]string{"X-Amzn-Errortype": "ValidationException:http://internal.amazon.com/"}, `{"__type":"Other","message":"1 validation error"}`},
			"ValidationException", "1 validation error", smithy.FaultClient, 1, false},
		{"a body code is the type when there is no other",
			answer{400, nil, `{"code":"InvalidParameter","message":"bad"}`},
			"InvalidParameter", "bad", smithy.FaultClient, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.answer)
			err := newClient(t, config(s.URL)).Call(context.Background(), "Get", map[string]string{"Id": "x"}, nil)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("got %v, want a smithy.APIError", err)
			}
			if apiErr.ErrorCode() != tc.code || apiErr.ErrorMessage() != tc.message || apiErr.ErrorFault() != tc.fault {
				t.Errorf("got code %q, message %q, fault %v; want %q, %q, %v", apiErr.ErrorCode(), apiErr.ErrorMessage(), apiErr.ErrorFault(), tc.code, tc.message, tc.fault)
			}
			var e *awsjson.Error
			if !errors.As(err, &e) || e.StatusCode != tc.answer.status || e.RequestID == "" {
				t.Errorf("got %#v, want the status %d and a request id", e, tc.answer.status)
			}
			if got := s.count(); got != tc.attempts {
				t.Errorf("got %d attempts, want %d", got, tc.attempts)
			}
			if got := awsconfig.Transient(err); got != tc.transient {
				t.Errorf("got awsconfig.Transient %v, want %v", got, tc.transient)
			}
			var opErr *smithy.OperationError
			if !errors.As(err, &opErr) || opErr.Service() != "Test Service" || opErr.Operation() != "Get" {
				t.Errorf("got %v, want it to name the service and the operation", err)
			}
		})
	}
}

func TestRetriesEndWithTheFirstSuccess(t *testing.T) {
	throttled := answer{400, nil, `{"__type":"ThrottlingException","message":"Rate exceeded"}`}
	s := newServer(t, throttled, answer{502, nil, ``}, answer{200, nil, `{"Value":"v"}`})
	var out struct{ Value string }
	if err := newClient(t, config(s.URL)).Call(context.Background(), "Get", nil, &out); err != nil {
		t.Fatalf("got %v, want the third attempt's answer", err)
	}
	if out.Value != "v" || s.count() != 3 {
		t.Errorf("got %q after %d attempts, want v after 3", out.Value, s.count())
	}
	for i, r := range s.requests {
		if r.Header.Get("Authorization") == "" || string(s.bodies[i]) != "{}" {
			t.Errorf("attempt %d: got Authorization %q and body %q, want each attempt signed with the same body", i+1, r.Header.Get("Authorization"), s.bodies[i])
		}
	}
}

func TestWithoutARetryerTheSDKsStandardOneMakesThreeAttempts(t *testing.T) {
	s := newServer(t, answer{500, nil, `{"__type":"InternalFailure"}`})
	cfg := config(s.URL)
	cfg.Retryer = nil // the SDK's standard retryer, with its own (short) backoff for a 500
	err := newClient(t, cfg).Call(context.Background(), "Get", nil, nil)
	var maxErr *retry.MaxAttemptsError
	if !errors.As(err, &maxErr) || s.count() != 3 {
		t.Fatalf("got %v after %d attempts, want the SDK's MaxAttemptsError after 3", err, s.count())
	}
	cfg.RetryMaxAttempts = 1
	before := s.count()
	_ = newClient(t, cfg).Call(context.Background(), "Get", nil, nil)
	if got := s.count() - before; got != 1 {
		t.Errorf("got %d attempts with RetryMaxAttempts 1, want 1", got)
	}
}

func TestAConnectionThatFailsIsRetried(t *testing.T) {
	var attempts atomic.Int32
	cfg := config("http://dcs-access.invalid")
	cfg.HTTPClient = doFunc(func(r *http.Request) (*http.Response, error) {
		attempts.Add(1)
		return nil, errors.New("connection reset by peer")
	})
	err := newClient(t, cfg).Call(context.Background(), "Get", nil, nil)
	if err == nil || attempts.Load() != 3 {
		t.Fatalf("got %v after %d attempts, want a failure after 3", err, attempts.Load())
	}
	if !awsconfig.Transient(err) {
		t.Errorf("got %v not transient, want a connection failure transient", err)
	}
}

type doFunc func(*http.Request) (*http.Response, error)

func (f doFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func TestACanceledContextEndsTheCall(t *testing.T) {
	t.Run("while the request waits for its answer", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		err := newClient(t, config(srv.URL)).Call(ctx, "Get", nil, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %v, want the call to end with its context", took)
		}
	})
	t.Run("while it waits to retry", func(t *testing.T) {
		s := newServer(t, answer{500, nil, `{"__type":"InternalFailure"}`})
		cfg := config(s.URL)
		cfg.Retryer = func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Hour, nil })
			})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := newClient(t, cfg).Call(ctx, "Get", nil, nil)
		if !errors.Is(err, context.DeadlineExceeded) || s.count() != 1 {
			t.Fatalf("got %v after %d attempts, want context.DeadlineExceeded after 1", err, s.count())
		}
		if !awsconfig.Transient(err) {
			t.Errorf("got %v not transient, want a deadline transient", err)
		}
	})
	t.Run("before it starts", func(t *testing.T) {
		s := newServer(t, answer{200, nil, `{}`})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := newClient(t, config(s.URL)).Call(ctx, "Get", nil, nil); !errors.Is(err, context.Canceled) || s.count() != 0 {
			t.Fatalf("got %v after %d requests, want context.Canceled and none sent", err, s.count())
		}
	})
}

func TestNoErrorShowsTheCredentials(t *testing.T) {
	// A service that echoes the request's credentials and signature in its
	// message (as a signature mismatch explains itself).
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg := "the request had " + r.Header.Get("Authorization") + " and token " + r.Header.Get("X-Amz-Security-Token") + " and " + secretKey
		doc, _ := json.Marshal(map[string]string{"__type": "InvalidSignatureException", "message": msg})
		w.WriteHeader(400)
		_, _ = w.Write(doc)
	}))
	t.Cleanup(echo.Close)
	garbled := newServer(t, answer{200, nil, `{"Value":` + `"` + accessKeyID})
	refused := httptest.NewServer(http.NotFoundHandler())
	refused.Close()

	for name, url := range map[string]string{"an echoed message": echo.URL, "an unreadable answer": garbled.URL, "a refused connection": refused.URL} {
		t.Run(name, func(t *testing.T) {
			var out struct{ Value string }
			err := newClient(t, config(url)).Call(context.Background(), "Get", nil, &out)
			if err == nil {
				t.Fatal("got no error")
			}
			text := err.Error()
			var apiErr smithy.APIError
			if errors.As(err, &apiErr) {
				text += " " + apiErr.ErrorMessage()
			}
			for _, secret := range []string{accessKeyID, secretKey, sessionToken, "Signature="} {
				if strings.Contains(text, secret) && !(secret == "Signature=" && strings.Contains(text, "Signature=[redacted]")) {
					t.Errorf("got %q, which shows %q", text, secret)
				}
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	for region, want := range map[string]string{
		"eu-west-1":      "https://testsvc.eu-west-1.amazonaws.com/",
		"cn-north-1":     "https://testsvc.cn-north-1.amazonaws.com.cn/",
		"us-gov-west-1":  "https://testsvc.us-gov-west-1.amazonaws.com/",
		"eusc-de-east-1": "https://testsvc.eusc-de-east-1.amazonaws.eu/",
		"us-iso-east-1":  "https://testsvc.us-iso-east-1.c2s.ic.gov/",
		"us-isob-east-1": "https://testsvc.us-isob-east-1.sc2s.sgov.gov/",
		"us-isof-east-1": "https://testsvc.us-isof-east-1.csp.hci.ic.gov/",
		"eu-isoe-west-1": "https://testsvc.eu-isoe-west-1.cloud.adc-e.uk/",
		"xx-future-9":    "https://testsvc.xx-future-9.amazonaws.com/",
	} {
		t.Run(region+" is "+want, func(t *testing.T) {
			var got string
			cfg := config("")
			cfg.BaseEndpoint, cfg.Region = nil, region
			cfg.HTTPClient = doFunc(func(r *http.Request) (*http.Response, error) {
				got = r.URL.String()
				return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}")), Header: http.Header{}}, nil
			})
			if err := newClient(t, cfg).Call(context.Background(), "Get", nil, nil); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
	for _, region := range []string{"", "eu-west-1.evil.example", "EU-WEST-1", "eu--west-1", "-eu"} {
		t.Run("region "+region+" is refused", func(t *testing.T) {
			cfg := config("")
			cfg.BaseEndpoint, cfg.Region = nil, region
			if _, err := awsjson.New(cfg, testService); err == nil {
				t.Error("got a client, want the region refused")
			}
		})
	}
	t.Run("FromEnv reads AWS_ENDPOINT_URL_<service ID>", func(t *testing.T) {
		s := newServer(t, answer{200, nil, `{}`})
		t.Setenv("AWS_REGION", "eu-west-1")
		t.Setenv("AWS_ACCESS_KEY_ID", accessKeyID)
		t.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
		t.Setenv("AWS_SESSION_TOKEN", "")
		t.Setenv("AWS_ENDPOINT_URL_TEST_SERVICE", s.URL)
		c, err := awsjson.FromEnv(testService)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Call(context.Background(), "Get", nil, nil); err != nil || s.count() != 1 {
			t.Fatalf("got %v after %d requests to the stand-in, want one", err, s.count())
		}
	})
}

func TestTimeReadsEpochSeconds(t *testing.T) {
	for in, want := range map[string]time.Time{
		`1732196062`:           time.Unix(1732196062, 0).UTC(),
		`1732196062.452`:       time.UnixMilli(1732196062452).UTC(),
		`1.7321960624529998E9`: time.UnixMilli(1732196062452).UTC(),
		`"1732196062.5"`:       time.UnixMilli(1732196062500).UTC(),
		`null`:                 {},
		`1732196062.4529`:      time.UnixMilli(1732196062452).UTC(), // to the millisecond, truncated as the SDK does
	} {
		var got awsjson.Time
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if !got.Equal(want) {
			t.Errorf("got %v for %s, want %v", got.Time, in, want)
		}
	}
	doc, _ := json.Marshal(awsjson.Time{Time: time.UnixMilli(1732196062452)})
	if string(doc) != "1732196062.452" {
		t.Errorf("got %s, want 1732196062.452", doc)
	}
	var bad awsjson.Time
	if err := json.Unmarshal([]byte(`"yesterday"`), &bad); err == nil {
		t.Error("got no error for a timestamp that is not a number")
	}
}

// typedException is a service's own error type, with a member beyond the
// type and message, as the SDK declares one.
type typedException struct {
	Message string
	Reasons []string
}

func (e *typedException) Error() string { return "typed: " + e.Message }

func TestAServicesExceptionReadsTheMembersOfItsErrors(t *testing.T) {
	s := newServer(t,
		answer{400, nil, `{"__type":"ns#Cancelled","message":"cancelled for ` + secretKey + `","Reasons":["A","B"]}`},
		answer{503, nil, `{"__type":"Busy","message":"later"}`})
	svc := testService
	var bodies []string
	svc.Exception = func(e *awsjson.Error, body []byte) error {
		bodies = append(bodies, string(body))
		if e.Code != "Cancelled" {
			return nil
		}
		var members struct{ Reasons []string }
		_ = json.Unmarshal(body, &members)
		return &typedException{Message: e.Message, Reasons: members.Reasons}
	}
	cfg := config(s.URL)
	cfg.RetryMaxAttempts = 1
	c, err := awsjson.New(cfg, svc)
	if err != nil {
		t.Fatal(err)
	}

	err = c.Call(context.Background(), "Write", nil, nil)
	var typed *typedException
	if !errors.As(err, &typed) || strings.Join(typed.Reasons, ",") != "A,B" {
		t.Fatalf("got %v, want the typed error with both reasons", err)
	}
	if strings.Contains(typed.Message, secretKey) {
		t.Errorf("got the typed message %q, which shows the secret key", typed.Message)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "Cancelled" {
		t.Errorf("got %v, want it still a smithy.APIError of its type", err)
	}

	err = c.Call(context.Background(), "Write", nil, nil)
	var e *awsjson.Error
	if !errors.As(err, &e) || e.Err != nil || errors.As(err, &typed) {
		t.Errorf("got %v, want an Error without a typed one for a type the service does not know", err)
	}
	if !awsconfig.Transient(err) {
		t.Errorf("got %v not transient, want a 503 transient with an Exception set", err)
	}
	if len(bodies) != 2 {
		t.Errorf("Exception saw %d answers, want each error answer once", len(bodies))
	}
}
