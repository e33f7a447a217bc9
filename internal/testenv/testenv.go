// Package testenv gives tests the real local stand-ins that `make test`
// starts: DynamoDB Local and moto (for KMS). A test that needs one and does
// not find it fails with instructions; it never skips. It also holds what
// any test may need: a Buffer for concurrent writers, and Eventually, to wait
// for a condition instead of sleeping.
package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/awsjson"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/dynamo"
)

func endpoint(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which starts DynamoDB Local and moto", name)
	}
	if !strings.HasPrefix(v, "http://127.0.0.1:") && !strings.HasPrefix(v, "http://localhost:") {
		t.Fatalf("%s=%s is not on loopback; tests never reach outside this machine", name, v)
	}
	return v
}

// DynamoDBEndpoint is the DynamoDB Local endpoint.
func DynamoDBEndpoint(t testing.TB) string { return endpoint(t, "DYNAMODB_ENDPOINT") }

// DynamoDB returns the SDK's own client for DynamoDB Local: for tests that
// read or write items as DynamoDB holds them, independently of the store's
// client (internal/ddb) and its codec.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	return dynamodb.NewFromConfig(awsconfig.Local(DynamoDBEndpoint(t)))
}

// StoreClient returns the client the store uses in a Lambda function
// (internal/ddb), for DynamoDB Local.
func StoreClient(t testing.TB) *ddb.Client {
	t.Helper()
	client, err := ddb.New(awsconfig.Local(DynamoDBEndpoint(t)))
	if err != nil {
		t.Fatal(err)
	}
	return client
}

var tables atomic.Int64

// Table creates a fresh table, shaped as in template.yaml, for one test,
// and returns it with the store's client (StoreClient).
func Table(t testing.TB) (*ddb.Client, string) {
	t.Helper()
	client := StoreClient(t)
	name := fmt.Sprintf("test-%d-%d", time.Now().UnixNano(), tables.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dynamo.CreateTable(ctx, client, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		_ = client.DeleteTable(context.Background(), &ddb.DeleteTableInput{TableName: &name})
	})
	return client, name
}

// MotoEndpoint is moto's server endpoint.
func MotoEndpoint(t testing.TB) string { return endpoint(t, "MOTO_ENDPOINT") }

// KMS returns a KMS client for moto.
func KMS(t testing.TB) *kms.Client {
	t.Helper()
	return kms.NewFromConfig(awsconfig.Local(MotoEndpoint(t)))
}

// Moto returns a client of service (an adapter's awsjson.Service) for moto:
// the client the adapter uses in a Lambda function, at moto.
func Moto(t testing.TB, service awsjson.Service) *awsjson.Client {
	t.Helper()
	client, err := awsjson.New(awsconfig.Local(MotoEndpoint(t)), service)
	if err != nil {
		t.Fatal(err)
	}
	return client
}
