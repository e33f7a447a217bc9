package ddb_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/ddb"
)

// tokenItem is a token's item as the authorizer reads it (internal/dynamo).
const tokenItem = `{"Item":{"pk":{"S":"TENANT#acme"},"sk":{"S":"TOKEN#0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"},` +
	`"id":{"S":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"},"description":{"S":"nightly masking"},"user":{"S":"ada@example.com"},` +
	`"createdAt":{"S":"2026-11-27T12:00:00Z"},"expiresAt":{"S":"2026-12-27T12:00:00Z"},"ttl":{"N":"1801656000"},` +
	`"scopes":{"L":[{"S":"compliance-jobs:run"},{"S":"tokens:read"}]},"lastUsedAtMs":{"N":"1764244800000"},"lastUsedIp":{"S":"203.0.113.7"},` +
	`"nextNotice":{"N":"1"},"gsi1pk":{"S":"EXPIRES#2026-12-27"},"gsi1sk":{"S":"2026-12-13T12:00:00Z#0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}}}`

// BenchmarkGetItem is the client's own cost of the authorizer's read (sign,
// send, read the answer, decode the item), the SDK's and this package's,
// on an HTTP client that answers at once.
func BenchmarkGetItem(b *testing.B) {
	sdk, _, ours, _ := clients(b, func(string, []byte) (int, http.Header, string) { return 200, nil, tokenItem })
	key := map[string]types.AttributeValue{"pk": s("TENANT#acme"), "sk": s("TOKEN#0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")}
	ctx := context.Background()
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if out, err := sdk.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: key, ConsistentRead: aws.Bool(true)}); err != nil || len(out.Item) != 14 {
				b.Fatal(out, err)
			}
		}
	})
	b.Run("ddb", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if out, err := ours.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("t"), Key: key, ConsistentRead: aws.Bool(true)}); err != nil || len(out.Item) != 14 {
				b.Fatal(out, err)
			}
		}
	})
}
