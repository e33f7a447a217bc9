// Package awsjson calls AWS services that speak the AWS JSON 1.0 and 1.1
// protocols, for the few operations dcs-access needs of DynamoDB (through
// internal/ddb), KMS, Secrets Manager, EventBridge and Step Functions,
// without those services' SDK clients.
//
// Why not the SDK's clients: these versions of aws-sdk-go-v2 build every
// service's schemas (each operation's and shape's) at init, so one client
// costs a bootstrap 1-1.7 MB even for one call (0.3-0.7 MB more when
// another SDK client already brought the SDK's stack), while the signer,
// the retryer and the credentials that this package uses from the SDK cost
// about 0.13 MB. Those clients were what kept functions over 8 MB
// (docs/performance.md). EventBridge Scheduler stays on the SDK: it is
// REST-JSON, another protocol.
//
// What a call does, as the protocols define it (AWS JSON 1.0:
// https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html, 1.1:
// https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html): POST / with
// the input as a JSON document (`{}` for none), Content-Type
// application/x-amz-json-1.0 or -1.1, X-Amz-Target <TargetPrefix>.<Operation>;
// a 2xx answer's body is the output; any other answer is an error whose type
// is the X-Amzn-Errortype header, else the body's __type (or code), cut to
// the shape name ("ns#Name:uri" is "Name"), and whose message is the body's
// message. The request is signed with Signature Version 4 by the SDK's own
// signer (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
// with the configuration's credentials, and retried as the SDK retries
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html):
// the configuration's retryer, else the SDK's standard one (three attempts,
// throttling, 5xx and connection errors retried with jittered exponential
// backoff and a retry quota), waiting no longer than the context allows.
// The endpoint is AWS_ENDPOINT_URL_<service id>'s (FromEnv) or the
// configuration's BaseEndpoint, else https://<prefix>.<region>.<suffix> with
// the DNS suffix of the region's partition, as in the SDK's partition
// table: amazonaws.com for aws and aws-us-gov, amazonaws.com.cn for aws-cn,
// amazonaws.eu for aws-eusc, and the isolated partitions' own. Errors never
// show the credentials: a service message that echoes them, or the
// signature, has them redacted.
//
// What it deliberately leaves out: the shapes (each adapter declares the
// members it sends and reads, with the wire names, and may read an error's
// own members into the SDK's typed error, Service.Exception; blobs are
// []byte, which encoding/json writes as base64 as the protocols want;
// timestamps are [Time]), input validation beyond what the service does,
// event streams, endpoint discovery, FIPS and dual-stack endpoints (the
// Lambda configuration, awsconfig.Load, asks for neither), SigV4a,
// clock-skew correction, request compression, and the SDK's middleware,
// logging and metrics. It is for operations with small, fixed shapes, or
// for an adapter that owns its shapes and tests them against the SDK's
// client (internal/ddb); a service used for more than that should stay on
// its SDK client.
package awsjson

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
)

// The two protocol versions: they differ in Content-Type only (and in the
// error type servers send, which a client reads the same way for both).
const (
	JSON10 = "1.0"
	JSON11 = "1.1"
)

// Service is one AWS service on an AWS JSON protocol, named as the SDK's
// model names it.
type Service struct {
	// ID is the SDK's service id ("Secrets Manager"): AWS_ENDPOINT_URL_<ID>
	// (upper case, spaces as underscores) points it elsewhere, and the SDK
	// names its package after it (lower case, without spaces).
	ID string
	// EndpointPrefix is the first label of its endpoint:
	// https://<EndpointPrefix>.<region>.<partition's DNS suffix>.
	EndpointPrefix string
	// SigningName is the service in the SigV4 credential scope.
	SigningName string
	// TargetPrefix is the service shape's name, before the operation in
	// X-Amz-Target.
	TargetPrefix string
	// Protocol is JSON10 or JSON11.
	Protocol string
	// Exception, when set, reads an error answer's members beyond its type
	// and message (DynamoDB's TransactionCanceledException carries its
	// cancellation reasons) into the SDK's typed error of that type, which
	// the [*Error] then wraps for errors.As; nil where it knows no such
	// type. e's message is already redacted.
	Exception func(e *Error, body []byte) error
}

// Client calls one service's operations. It is safe for concurrent use.
type Client struct {
	service     Service
	endpoint    string
	region      string
	credentials aws.CredentialsProvider
	retryer     aws.RetryerV2
	http        aws.HTTPClient
	signer      *v4.Signer
	now         func() time.Time
}

// New returns a client of service with cfg's region, credentials, retryer
// and HTTP client; its endpoint is cfg.BaseEndpoint, else AWS's endpoint
// for the region.
func New(cfg aws.Config, service Service) (*Client, error) {
	if service.Protocol != JSON10 && service.Protocol != JSON11 {
		return nil, fmt.Errorf("awsjson: %s: protocol %q is neither %s nor %s", service.ID, service.Protocol, JSON10, JSON11)
	}
	if cfg.Credentials == nil {
		return nil, fmt.Errorf("awsjson: %s: the configuration has no credentials", service.ID)
	}
	if !validRegion(cfg.Region) {
		return nil, fmt.Errorf("awsjson: %s: region %q is not a region name", service.ID, cfg.Region)
	}
	endpoint := aws.ToString(cfg.BaseEndpoint)
	if endpoint == "" {
		endpoint = regionalEndpoint(service, cfg.Region)
	}
	credentials := cfg.Credentials
	if _, cached := credentials.(*aws.CredentialsCache); !cached {
		credentials = aws.NewCredentialsCache(credentials)
	}
	var retryer aws.Retryer = retry.NewStandard()
	if cfg.Retryer != nil {
		retryer = cfg.Retryer()
	}
	if cfg.RetryMaxAttempts != 0 {
		retryer = retry.AddWithMaxAttempts(retryer, cfg.RetryMaxAttempts)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	return &Client{
		service:     service,
		endpoint:    endpoint,
		region:      cfg.Region,
		credentials: credentials,
		retryer:     wrapRetryer(retryer),
		http:        client,
		signer:      v4.NewSigner(),
		now:         time.Now,
	}, nil
}

// FromEnv returns a client of service as a Lambda function runs it: the
// function's region and credentials (awsconfig.Load), at
// AWS_ENDPOINT_URL_<service ID>'s stand-in if that is set.
func FromEnv(service Service) (*Client, error) {
	cfg, err := awsconfig.Load()
	if err != nil {
		return nil, err
	}
	cfg.BaseEndpoint = awsconfig.Endpoint(service.ID)
	return New(cfg, service)
}

// Call calls operation with in (marshalled with encoding/json; nil sends
// `{}`) and unmarshals the output into out (nil ignores it). Every error is
// a *smithy.OperationError; an answer of the service's is an [*Error] in
// it, which callers read with errors.As as a smithy.APIError.
func (c *Client) Call(ctx context.Context, operation string, in, out any) error {
	if err := c.call(ctx, operation, in, out); err != nil {
		return &smithy.OperationError{ServiceID: c.service.ID, OperationName: operation, Err: err}
	}
	return nil
}

func (c *Client) call(ctx context.Context, operation string, in, out any) error {
	body := []byte("{}")
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return &smithy.SerializationError{Err: err}
		}
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])

	// The loop of the SDK's retry middleware (aws/retry's Attempt): an
	// attempt token for the first attempt, a retry token from the quota
	// for each retry, released with the attempt's outcome.
	releaseRetry := func(error) error { return nil }
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return &smithy.CanceledError{Err: err}
		}
		releaseAttempt := func(error) error { return nil }
		if attempt == 1 {
			var err error
			if releaseAttempt, err = c.retryer.GetAttemptToken(ctx); err != nil {
				return fmt.Errorf("get retry attempt token: %w", err)
			}
		}
		err := c.attempt(ctx, operation, body, payloadHash, out)
		_ = releaseRetry(err)
		_ = releaseAttempt(err)
		if err == nil || !c.retryer.IsErrorRetryable(err) {
			return err
		}
		if maxAttempts := c.retryer.MaxAttempts(); maxAttempts > 0 && attempt >= maxAttempts {
			return &retry.MaxAttemptsError{Attempt: attempt, Err: err}
		}
		var quotaErr error
		if releaseRetry, quotaErr = c.retryer.GetRetryToken(ctx, err); quotaErr != nil {
			return errors.Join(err, quotaErr)
		}
		delay, delayErr := c.retryer.RetryDelay(attempt, err)
		if delayErr != nil {
			return errors.Join(err, delayErr)
		}
		if err := sleep(ctx, delay); err != nil {
			return &smithy.CanceledError{Err: err}
		}
	}
}

// attempt sends the request once, signed afresh.
func (c *Client) attempt(ctx context.Context, operation string, body []byte, payloadHash string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return &smithy.SerializationError{Err: err}
	}
	req.Header.Set("Content-Type", "application/x-amz-json-"+c.service.Protocol)
	req.Header.Set("X-Amz-Target", c.service.TargetPrefix+"."+operation)
	req.Header.Set("User-Agent", "dcs-access awsjson")
	creds, err := c.credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("retrieve credentials: %w", err)
	}
	if err := c.signer.SignHTTP(ctx, creds, req, payloadHash, c.service.SigningName, c.region, c.now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return &smithy.CanceledError{Err: ctx.Err()}
		}
		// As the SDK's HTTP handler does: a request that got no answer
		// is a connection error, which the retryer retries.
		return &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		if ctx.Err() != nil {
			return &smithy.CanceledError{Err: ctx.Err()}
		}
		return fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := decodeError(req, resp, payload, creds)
		if c.service.Exception != nil {
			e.Err = c.service.Exception(e, payload)
		}
		return e
	}
	if out == nil || len(bytes.TrimSpace(payload)) == 0 {
		return nil
	}
	if err := json.Unmarshal(payload, out); err != nil {
		return &smithy.DeserializationError{Err: fmt.Errorf("HTTP %d, request id %s: %w", resp.StatusCode, resp.Header.Get("X-Amzn-Requestid"), err)}
	}
	return nil
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// wrapRetryer makes a Retryer a RetryerV2, as the SDK's middleware does.
func wrapRetryer(r aws.Retryer) aws.RetryerV2 {
	if v2, ok := r.(aws.RetryerV2); ok {
		return v2
	}
	return retryerV1{r}
}

type retryerV1 struct{ aws.Retryer }

func (r retryerV1) GetAttemptToken(context.Context) (func(error) error, error) {
	return r.GetInitialToken(), nil
}
