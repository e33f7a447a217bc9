package ddb_test

// The SDK's own DynamoDB client is the oracle here: the same requests and
// answers, through both clients, must say the same on the wire and come
// back as the same values and errors. Offline: both talk to an HTTP client
// that records what is sent and answers as told.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/ddb"
)

// wire records requests and answers each with answer's status, headers
// and body.
type wire struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
	answer   func(target string, body []byte) (int, http.Header, string)
}

func (w *wire) Do(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	w.requests, w.bodies = append(w.requests, r), append(w.bodies, body)
	w.mu.Unlock()
	status, header, text := 200, http.Header{}, "{}"
	if w.answer != nil {
		status, header, text = w.answer(r.Header.Get("X-Amz-Target"), body)
	}
	if header == nil {
		header = http.Header{}
	}
	header.Set("X-Amzn-Requestid", "req-1")
	return &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(strings.NewReader(text)), Request: r}, nil
}

func (w *wire) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.requests)
}

func (w *wire) last() (*http.Request, []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.requests[len(w.requests)-1], w.bodies[len(w.bodies)-1]
}

// clients are the SDK's client and this package's, each on its own wire,
// with their default retries.
func clients(t testing.TB, answer func(string, []byte) (int, http.Header, string)) (*dynamodb.Client, *wire, *ddb.Client, *wire) {
	t.Helper()
	return clientsOf(t, awsconfig.Local("http://dynamodb.test"), answer)
}

// noWaits is DynamoDB's retries (4 attempts) without their waits, which
// for throttling take seconds.
func noWaits() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 4
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

func clientsOf(t testing.TB, cfg aws.Config, answer func(string, []byte) (int, http.Header, string)) (*dynamodb.Client, *wire, *ddb.Client, *wire) {
	t.Helper()
	sdkWire, oursWire := &wire{answer: answer}, &wire{answer: answer}
	cfg.HTTPClient = sdkWire
	sdk := dynamodb.NewFromConfig(cfg)
	cfg.HTTPClient = oursWire
	ours, err := ddb.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sdk, sdkWire, ours, oursWire
}

// sameJSON reports whether a and b are one JSON document.
func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// agreeOnItem checks that item goes both ways between the SDK's codec and
// this one unchanged, and that both write it alike.
func agreeOnItem(t testing.TB, item map[string]types.AttributeValue) {
	t.Helper()
	ctx := context.Background()
	var ourDoc []byte
	sdk, sdkWire, ours, oursWire := clients(t, func(target string, _ []byte) (int, http.Header, string) {
		if target == "DynamoDB_20120810.GetItem" {
			return 200, nil, `{"Item":` + string(ourDoc) + `}`
		}
		return 200, nil, "{}"
	})
	if _, err := sdk.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: item}); err != nil {
		t.Fatal(err)
	}
	if _, err := ours.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("t"), Item: item}); err != nil {
		t.Fatal(err)
	}
	_, sdkBody := sdkWire.last()
	_, ourBody := oursWire.last()
	if !sameJSON(t, sdkBody, ourBody) {
		t.Fatalf("the SDK wrote %s, this codec %s", sdkBody, ourBody)
	}
	var read struct{ Item ddb.Item }
	if err := json.Unmarshal(sdkBody, &read); err != nil {
		t.Fatalf("reading what the SDK wrote, %s: %v", sdkBody, err)
	}
	if !reflect.DeepEqual(normalizedItem(read.Item), normalizedItem(item)) {
		t.Fatalf("read the SDK's %s as %#v, want %#v", sdkBody, read.Item, item)
	}
	var err error
	if ourDoc, err = json.Marshal(ddb.Item(item)); err != nil {
		t.Fatal(err)
	}
	out, err := sdk.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: item})
	if err != nil {
		t.Fatalf("the SDK reading %s: %v", ourDoc, err)
	}
	if !reflect.DeepEqual(normalizedItem(out.Item), normalizedItem(item)) {
		t.Fatalf("the SDK read %s as %#v, want %#v", ourDoc, out.Item, item)
	}
}

func TestTheCodecAgreesWithTheSDKs(t *testing.T) {
	for _, tc := range wireForms {
		t.Run(tc.name, func(t *testing.T) { agreeOnItem(t, map[string]types.AttributeValue{"a": tc.value}) })
	}
	for seed := range uint64(300) {
		t.Run(fmt.Sprint("random item ", seed), func(t *testing.T) { agreeOnItem(t, seeded(seed, 256).item(3)) })
	}
}

// FuzzCodecAgreesWithTheSDKs lets the fuzzer choose the items.
func FuzzCodecAgreesWithTheSDKs(f *testing.F) {
	for seed := range uint64(8) {
		f.Add(seeded(seed, 64).b)
	}
	f.Fuzz(func(t *testing.T, choices []byte) { agreeOnItem(t, (&gen{b: choices}).item(4)) })
}

// filled sets every exported member of v (a pointer) to a value, as deep
// as it goes: each member the SDK would send, sent.
func filled(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		filled(v.Elem())
	case reflect.String:
		v.SetString("v")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Interface:
		v.Set(reflect.ValueOf(&types.AttributeValueMemberS{Value: "x"}))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		val := reflect.New(v.Type().Elem()).Elem()
		filled(val)
		m.SetMapIndex(reflect.ValueOf("#k").Convert(v.Type().Key()), val)
		v.Set(m)
	case reflect.Slice:
		e := reflect.New(v.Type().Elem()).Elem()
		filled(e)
		v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), e))
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				filled(v.Field(i))
			}
		}
	}
}

// asSDKInput copies in (an input of this package) into the SDK's input of
// the same name: each member must be one of the SDK's, of the same type.
func asSDKInput(t *testing.T, in reflect.Value, sdkType reflect.Type) reflect.Value {
	t.Helper()
	out := reflect.New(sdkType.Elem())
	for i := range in.Elem().NumField() {
		f := in.Elem().Type().Field(i)
		sf, ok := sdkType.Elem().FieldByName(f.Name)
		if !ok || sf.Type != f.Type {
			t.Fatalf("%s.%s (%s) is not a member of the SDK's %s of that type", in.Elem().Type(), f.Name, f.Type, sdkType.Elem())
		}
		out.Elem().FieldByIndex(sf.Index).Set(in.Elem().Field(i))
	}
	return out
}

// operations are the operations of this package, by name.
var operations = []string{"GetItem", "PutItem", "DeleteItem", "UpdateItem", "Query", "Scan", "TransactWriteItems",
	"CreateTable", "DescribeTable", "UpdateTimeToLive", "DeleteTable"}

func TestEachRequestIsTheSDKsRequest(t *testing.T) {
	ctx := reflect.ValueOf(context.Background())
	for _, op := range operations {
		t.Run(op+", every member set", func(t *testing.T) {
			sdk, sdkWire, ours, oursWire := clients(t, nil)
			ourMethod := reflect.ValueOf(ours).MethodByName(op)
			sdkMethod := reflect.ValueOf(sdk).MethodByName(op)
			if !ourMethod.IsValid() || !sdkMethod.IsValid() {
				t.Fatalf("no method %s", op)
			}
			in := reflect.New(ourMethod.Type().In(1).Elem())
			filled(in.Elem())
			for _, r := range ourMethod.Call([]reflect.Value{ctx, in}) {
				if err, _ := r.Interface().(error); err != nil {
					t.Fatal(err)
				}
			}
			if r := sdkMethod.Call([]reflect.Value{ctx, asSDKInput(t, in, sdkMethod.Type().In(1))}); !r[1].IsNil() {
				t.Fatal(r[1].Interface())
			}
			sdkReq, sdkBody := sdkWire.last()
			ourReq, ourBody := oursWire.last()
			if !sameJSON(t, sdkBody, ourBody) {
				t.Errorf("the SDK sent %s, this package %s", sdkBody, ourBody)
			}
			for _, h := range []string{"X-Amz-Target", "Content-Type", "Accept-Encoding"} {
				if got, want := ourReq.Header.Get(h), sdkReq.Header.Get(h); got != want || want == "" {
					t.Errorf("got %s %q, the SDK sends %q", h, got, want)
				}
			}
			if got := ourReq.Header.Get("Authorization"); !strings.Contains(got, "/us-east-1/dynamodb/aws4_request") {
				t.Errorf("got Authorization %q, want it signed for dynamodb", got)
			}
		})
	}
	t.Run("unset members are left out", func(t *testing.T) {
		_, _, ours, oursWire := clients(t, nil)
		_, err := ours.Query(context.Background(), &ddb.QueryInput{TableName: aws.String("t"), ExpressionAttributeValues: map[string]types.AttributeValue{}})
		if _, body := oursWire.last(); err != nil || string(body) != `{"TableName":"t"}` {
			t.Errorf("got %s (%v), want the table name alone", body, err)
		}
	})
}

// errorAnswers are answers DynamoDB gives, by the error type they carry,
// with the members that type has beyond its message.
var errorAnswers = map[string]struct {
	status int
	body   string
}{
	"ConditionalCheckFailedException": {400, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":{"pk":{"S":"a"},"n":{"N":"1"}}}`},
	"TransactionCanceledException": {400, `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None, TransactionConflict]",` +
		`"CancellationReasons":[{"Code":"ConditionalCheckFailed","Message":"The conditional request failed","Item":{"pk":{"S":"a"}}},{"Code":"None"},{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}]}`},
	"ProvisionedThroughputExceededException":   {400, `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded.","ThrottlingReasons":[{"reason":"TableReadProvisionedThroughputExceeded","resource":"arn:aws:dynamodb:us-east-1:123456789012:table/t"}]}`},
	"ThrottlingException":                      {400, `{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`},
	"RequestLimitExceeded":                     {400, `{"__type":"com.amazonaws.dynamodb.v20120810#RequestLimitExceeded","message":"Throughput exceeds the current throughput limit for your account.","ThrottlingReasons":[{"reason":"AccountLimit"}]}`},
	"TransactionConflictException":             {400, `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException","message":"Transaction is ongoing for the item"}`},
	"TransactionInProgressException":           {400, `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionInProgressException","message":"in progress"}`},
	"IdempotentParameterMismatchException":     {400, `{"__type":"com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException","message":"mismatch"}`},
	"ItemCollectionSizeLimitExceededException": {400, `{"__type":"com.amazonaws.dynamodb.v20120810#ItemCollectionSizeLimitExceededException","message":"too big"}`},
	"LimitExceededException":                   {400, `{"__type":"com.amazonaws.dynamodb.v20120810#LimitExceededException","message":"too many"}`},
	"ReplicatedWriteConflictException":         {400, `{"__type":"com.amazonaws.dynamodb.v20120810#ReplicatedWriteConflictException","message":"replica"}`},
	"ResourceInUseException":                   {400, `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceInUseException","message":"Table already exists: t"}`},
	"ResourceNotFoundException":                {400, `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}`},
	"InvalidEndpointException":                 {421, `{"__type":"com.amazonaws.dynamodb.v20120810#InvalidEndpointException","message":"wrong endpoint"}`},
	"InternalServerError":                      {500, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}`},
	"ValidationException":                      {400, `{"__type":"com.amazon.coral.validate#ValidationException","message":"One or more parameter values were invalid"}`},
	"AccessDeniedException":                    {400, `{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"User is not authorized"}`},
	"ServiceUnavailable":                       {503, `{"__type":"com.amazon.coral.availability#ServiceUnavailableException","message":"unavailable"}`},
	"a 502 without a body":                     {502, ``},
}

// typedIn is the error of the SDK's types package in err's chain, if any.
func typedIn(err error) error {
	typesPackage := reflect.TypeFor[types.ConditionalCheckFailedException]().PkgPath()
	for _, e := range chain(err) {
		if t := reflect.TypeOf(e); t.Kind() == reflect.Pointer && t.Elem().PkgPath() == typesPackage {
			return e
		}
	}
	return nil
}

func chain(err error) []error {
	if err == nil {
		return nil
	}
	out := []error{err}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		out = append(out, chain(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, chain(e)...)
		}
	}
	return out
}

func TestRetriesAreTheSDKsDynamoDBDefaults(t *testing.T) {
	sdk, sdkWire, ours, oursWire := clients(t, func(string, []byte) (int, http.Header, string) {
		return 500, nil, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}`
	})
	ctx := context.Background()
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}}
	_, sdkErr := sdk.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: key})
	_, ourErr := ours.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("t"), Key: key})
	if sdkErr == nil || ourErr == nil || oursWire.count() != sdkWire.count() || sdkWire.count() != 4 {
		t.Fatalf("made %d attempts (%v), the SDK %d (%v); want 4 each", oursWire.count(), ourErr, sdkWire.count(), sdkErr)
	}
}

func TestErrorsAreTheSDKsErrors(t *testing.T) {
	for name, a := range errorAnswers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := awsconfig.Local("http://dynamodb.test")
			cfg.Retryer = noWaits
			sdk, sdkWire, ours, oursWire := clientsOf(t, cfg, func(string, []byte) (int, http.Header, string) { return a.status, nil, a.body })
			ctx := context.Background()
			key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}}
			_, sdkErr := sdk.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: key})
			_, ourErr := ours.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("t"), Key: key})
			if sdkErr == nil || ourErr == nil {
				t.Fatalf("got %v and %v, want two errors", sdkErr, ourErr)
			}
			if got, want := oursWire.count(), sdkWire.count(); got != want {
				t.Errorf("made %d attempts, the SDK %d", got, want)
			}
			if got, want := awsconfig.Transient(ourErr), awsconfig.Transient(sdkErr); got != want {
				t.Errorf("got Transient %v, the SDK's error %v", got, want)
			}
			var sdkAPI, ourAPI smithy.APIError
			if errors.As(sdkErr, &sdkAPI) != errors.As(ourErr, &ourAPI) {
				t.Fatalf("got %v, the SDK %v: one is an APIError, the other not", ourErr, sdkErr)
			}
			if ourAPI.ErrorCode() != sdkAPI.ErrorCode() {
				t.Errorf("got the type %q, the SDK %q", ourAPI.ErrorCode(), sdkAPI.ErrorCode())
			}
			if a.body != "" && ourAPI.ErrorMessage() != sdkAPI.ErrorMessage() {
				t.Errorf("got the message %q, the SDK %q", ourAPI.ErrorMessage(), sdkAPI.ErrorMessage())
			}
			sdkTyped := typedIn(sdkErr)
			if sdkTyped == nil {
				// The SDK's GenericAPIError has no fault; awsjson's Error
				// has its status's, which nothing reads.
				if typedIn(ourErr) != nil {
					t.Errorf("got the typed %#v, the SDK none", typedIn(ourErr))
				}
				return
			}
			if ourAPI.ErrorFault() != sdkAPI.ErrorFault() {
				t.Errorf("got the fault %v, the SDK %v", ourAPI.ErrorFault(), sdkAPI.ErrorFault())
			}
			ourTyped := reflect.New(reflect.TypeOf(sdkTyped))
			if !errors.As(ourErr, ourTyped.Interface()) {
				t.Fatalf("got %v, want a %T in it as in the SDK's %v", ourErr, sdkTyped, sdkErr)
			}
			if !reflect.DeepEqual(ourTyped.Elem().Interface(), sdkTyped) {
				t.Errorf("got %#v, the SDK %#v", ourTyped.Elem().Interface(), sdkTyped)
			}
		})
	}
}

func TestEachAnswerIsCheckedAgainstItsCRC32(t *testing.T) {
	body := `{"Item":{"pk":{"S":"a"}}}`
	for _, tc := range []struct {
		name     string
		crc      string
		ok       bool
		attempts int
	}{
		{"the right CRC32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10), true, 1},
		{"no CRC32", "", true, 1},
		{"a CRC32 of another body: damaged, and retried as a broken connection", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body+" "))), 10), false, 4},
		{"a header that is no CRC32", "x", false, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, ours, w := clients(t, func(string, []byte) (int, http.Header, string) {
				h := http.Header{}
				if tc.crc != "" {
					h.Set("X-Amz-Crc32", tc.crc)
				}
				return 200, h, body
			})
			out, err := ours.GetItem(context.Background(), &ddb.GetItemInput{TableName: aws.String("t")})
			if tc.ok != (err == nil) || w.count() != tc.attempts {
				t.Fatalf("got %v after %d attempts, want ok %v after %d", err, w.count(), tc.ok, tc.attempts)
			}
			if tc.ok && !reflect.DeepEqual(out.Item, map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}}) {
				t.Errorf("got %#v", out.Item)
			}
			if !tc.ok && !awsconfig.Transient(err) {
				t.Errorf("got %v not transient, want a damaged answer retried and transient", err)
			}
			if r, _ := w.last(); r.Header.Get("Accept-Encoding") != "identity" {
				t.Errorf("got Accept-Encoding %q, want identity: the CRC32 is of the body as sent", r.Header.Get("Accept-Encoding"))
			}
		})
	}
}

// A transaction sent without a ClientRequestToken gets one, as the SDK's
// client gives it, and every retry of it sends the same one: a retry of a
// transaction that was committed (its answer lost) is then DynamoDB's
// idempotent repeat, not a second write that fails its conditions.
func TestATransactionWithoutARequestTokenSendsOneOnEveryAttempt(t *testing.T) {
	cfg := awsconfig.Local("http://dynamodb.test")
	cfg.Retryer = noWaits
	sdk, sdkWire, ours, oursWire := clientsOf(t, cfg, func(string, []byte) (int, http.Header, string) {
		return 500, nil, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}`
	})
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String("t"), Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}}}}}
	ctx := context.Background()
	_, _ = sdk.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	in := &ddb.TransactWriteItemsInput{TransactItems: items}
	_, _ = ours.TransactWriteItems(ctx, in)
	_, _ = ours.TransactWriteItems(ctx, in)
	if in.ClientRequestToken != nil {
		t.Fatal("the caller's input was changed")
	}
	tokensOf := func(w *wire) []string {
		w.mu.Lock()
		defer w.mu.Unlock()
		var got []string
		for _, b := range w.bodies {
			var body struct{ ClientRequestToken string }
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatal(err)
			}
			got = append(got, body.ClientRequestToken)
		}
		return got
	}
	sdkTokens, ourTokens := tokensOf(sdkWire), tokensOf(oursWire)
	if len(sdkTokens) != 4 || sdkTokens[0] == "" || sdkTokens[3] != sdkTokens[0] {
		t.Fatalf("the SDK sent %q: the oracle has changed", sdkTokens)
	}
	if len(ourTokens) != 8 {
		t.Fatalf("got %d attempts, want 4 for each of two calls", len(ourTokens))
	}
	first, second := ourTokens[0], ourTokens[4]
	if _, err := uuid.Parse(first); err != nil || first == second {
		t.Fatalf("got tokens %q and %q, want a new UUID for each call", first, second)
	}
	for i, tok := range ourTokens {
		if want := []string{first, second}[i/4]; tok != want {
			t.Fatalf("attempt %d sent %q, want its call's %q on every attempt", i%4+1, tok, want)
		}
	}
}
