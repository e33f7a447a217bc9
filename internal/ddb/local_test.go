package ddb_test

// Against DynamoDB Local, with the SDK's client as the independent
// reader and writer: what this package writes, DynamoDB holds and the SDK
// reads back; what the SDK writes, this package reads back; and the same
// failures come back with the same reasons.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

func s(v string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: v} }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s(pk), "sk": s(sk)}
}

func TestItemsRoundTripThroughDynamoDBLocal(t *testing.T) {
	ours, table := testenv.Table(t)
	sdk := testenv.DynamoDB(t)
	ctx := context.Background()
	for seed := range uint64(60) {
		t.Run(fmt.Sprint("random item ", seed), func(t *testing.T) {
			g := seeded(seed, 512)
			g.storable = true
			item := g.item(3)
			delete(item, "pk")
			delete(item, "sk")

			// Written here, read by the SDK.
			mine := key("RT", fmt.Sprint("ours-", seed))
			for k, v := range item {
				mine[k] = v
			}
			if _, err := ours.PutItem(ctx, &ddb.PutItemInput{TableName: &table, Item: mine}); err != nil {
				t.Fatalf("put %#v: %v", mine, err)
			}
			got, err := sdk.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: key("RT", fmt.Sprint("ours-", seed)), ConsistentRead: aws.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalizedItem(got.Item), normalizedItem(mine)) {
				t.Errorf("the SDK read back %#v, want %#v", got.Item, mine)
			}

			// Written by the SDK, read here.
			theirs := key("RT", fmt.Sprint("sdk-", seed))
			for k, v := range item {
				theirs[k] = v
			}
			if _, err := sdk.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: theirs}); err != nil {
				t.Fatal(err)
			}
			read, err := ours.GetItem(ctx, &ddb.GetItemInput{TableName: &table, Key: key("RT", fmt.Sprint("sdk-", seed)), ConsistentRead: aws.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalizedItem(read.Item), normalizedItem(theirs)) {
				t.Errorf("read back %#v, want %#v", read.Item, theirs)
			}
		})
	}
	missing, err := ours.GetItem(ctx, &ddb.GetItemInput{TableName: &table, Key: key("RT", "none")})
	if err != nil || missing.Item != nil {
		t.Errorf("got %#v (%v), want no item for a key that has none", missing, err)
	}
}

func TestPagesAreTheSDKsPages(t *testing.T) {
	ours, table := testenv.Table(t)
	sdk := testenv.DynamoDB(t)
	ctx := context.Background()
	for i := range 7 {
		if _, err := ours.PutItem(ctx, &ddb.PutItemInput{TableName: &table, Item: key("P", fmt.Sprintf("%02d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	values := map[string]types.AttributeValue{":pk": s("P")}
	var ourPages, sdkPages [][]map[string]types.AttributeValue
	for p := ddb.NewQueryPaginator(ours, &ddb.QueryInput{TableName: &table, KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: values, Limit: aws.Int32(3), ScanIndexForward: aws.Bool(false)}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ourPages = append(ourPages, out.Items)
	}
	for p := dynamodb.NewQueryPaginator(sdk, &dynamodb.QueryInput{TableName: &table, KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: values, Limit: aws.Int32(3), ScanIndexForward: aws.Bool(false)}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sdkPages = append(sdkPages, out.Items)
	}
	if len(ourPages) != 3 || !reflect.DeepEqual(ourPages, sdkPages) {
		t.Errorf("got the pages %v, the SDK %v; want 3, newest first", ourPages, sdkPages)
	}
	if first := ourPages[0][0]["sk"].(*types.AttributeValueMemberS).Value; first != "06" {
		t.Errorf("got %s first, want 06 (ScanIndexForward false)", first)
	}

	var scanned int
	for p := ddb.NewScanPaginator(ours, &ddb.ScanInput{TableName: &table, Limit: aws.Int32(2)}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		scanned += len(out.Items)
	}
	if scanned != 7 {
		t.Errorf("scanned %d items, want 7", scanned)
	}
	p := ddb.NewScanPaginator(ours, &ddb.ScanInput{TableName: &table})
	if _, err := p.NextPage(ctx); err != nil || p.HasMorePages() {
		t.Fatalf("got %v, more %v: want one page for a small table", err, p.HasMorePages())
	}
	if _, err := p.NextPage(ctx); err == nil {
		t.Error("got a page after the last")
	}
}

// A transaction that fails comes back as the SDK's would, reasons and
// the failed item's old values included.
func TestACancelledTransactionHasTheSDKsReasons(t *testing.T) {
	ours, table := testenv.Table(t)
	sdk := testenv.DynamoDB(t)
	ctx := context.Background()
	held := key("T", "held")
	held["owner"] = s("ada")
	if _, err := ours.PutItem(ctx, &ddb.PutItemInput{TableName: &table, Item: held}); err != nil {
		t.Fatal(err)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &table, Item: key("T", "new")}},
		{Put: &types.Put{TableName: &table, Item: key("T", "held"), ConditionExpression: aws.String("attribute_not_exists(sk)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		{ConditionCheck: &types.ConditionCheck{TableName: &table, Key: key("T", "other"), ConditionExpression: aws.String("attribute_not_exists(sk)")}},
	}
	_, ourErr := ours.TransactWriteItems(ctx, &ddb.TransactWriteItemsInput{TransactItems: items})
	_, sdkErr := sdk.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var mine, theirs *types.TransactionCanceledException
	if !errors.As(ourErr, &mine) || !errors.As(sdkErr, &theirs) {
		t.Fatalf("got %v and the SDK %v, want both cancelled", ourErr, sdkErr)
	}
	if !reflect.DeepEqual(mine, theirs) {
		t.Errorf("got %#v, the SDK %#v", mine, theirs)
	}
	if len(mine.CancellationReasons) != 3 || aws.ToString(mine.CancellationReasons[1].Code) != "ConditionalCheckFailed" ||
		!reflect.DeepEqual(mine.CancellationReasons[1].Item, held) {
		t.Errorf("got reasons %#v, want the second item's condition failed, with its old values", mine.CancellationReasons)
	}
	if out, err := ours.GetItem(ctx, &ddb.GetItemInput{TableName: &table, Key: key("T", "new"), ConsistentRead: aws.Bool(true)}); err != nil || out.Item != nil {
		t.Errorf("got %#v (%v), want nothing written by the cancelled transaction", out, err)
	}

	// A ConditionCheck that fails cancels the transaction as a write's
	// condition does: its reason, at its place, with the item it checked.
	items = []types.TransactWriteItem{
		{Put: &types.Put{TableName: &table, Item: key("T", "new")}},
		{ConditionCheck: &types.ConditionCheck{TableName: &table, Key: key("T", "held"), ConditionExpression: aws.String("#o = :who"),
			ExpressionAttributeNames: map[string]string{"#o": "owner"}, ExpressionAttributeValues: map[string]types.AttributeValue{":who": s("grace")},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
	}
	_, ourErr = ours.TransactWriteItems(ctx, &ddb.TransactWriteItemsInput{TransactItems: items})
	_, sdkErr = sdk.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	mine, theirs = nil, nil
	if !errors.As(ourErr, &mine) || !errors.As(sdkErr, &theirs) || !reflect.DeepEqual(mine, theirs) {
		t.Fatalf("a failed ConditionCheck: got %#v, the SDK %#v", ourErr, sdkErr)
	}
	if len(mine.CancellationReasons) != 2 || aws.ToString(mine.CancellationReasons[1].Code) != "ConditionalCheckFailed" ||
		!reflect.DeepEqual(mine.CancellationReasons[1].Item, held) || aws.ToString(mine.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		t.Errorf("a failed ConditionCheck: got reasons %#v, want the check's failed, with the item", mine.CancellationReasons)
	}
	if out, err := ours.GetItem(ctx, &ddb.GetItemInput{TableName: &table, Key: key("T", "new"), ConsistentRead: aws.Bool(true)}); err != nil || out.Item != nil {
		t.Errorf("got %#v (%v), want nothing written by a transaction whose check failed", out, err)
	}

	// One condition, outside a transaction.
	_, ourErr = ours.PutItem(ctx, &ddb.PutItemInput{TableName: &table, Item: key("T", "held"), ConditionExpression: aws.String("attribute_not_exists(sk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	_, sdkErr = sdk.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: key("T", "held"), ConditionExpression: aws.String("attribute_not_exists(sk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	var failed, sdkFailed *types.ConditionalCheckFailedException
	if !errors.As(ourErr, &failed) || !errors.As(sdkErr, &sdkFailed) || !reflect.DeepEqual(failed, sdkFailed) {
		t.Errorf("got %#v, the SDK %#v; want ConditionalCheckFailedException alike", ourErr, sdkErr)
	}
}

func TestUpdatesAndDeletesAnswerTheirAttributes(t *testing.T) {
	ours, table := testenv.Table(t)
	ctx := context.Background()
	out, err := ours.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: &table, Key: key("U", "1"),
		UpdateExpression: aws.String("SET #n = if_not_exists(#n, :zero) + :one, tags = :tags"), ExpressionAttributeNames: map[string]string{"#n": "n"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": &types.AttributeValueMemberN{Value: "0"}, ":one": &types.AttributeValueMemberN{Value: "1"},
			":tags": &types.AttributeValueMemberSS{Value: []string{"a", "b"}}},
		ReturnValues: types.ReturnValueAllNew})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := out.Attributes["n"].(*types.AttributeValueMemberN); n == nil || n.Value != "1" {
		t.Errorf("got %#v, want n = 1 among the new values", out.Attributes)
	}
	put, err := ours.PutItem(ctx, &ddb.PutItemInput{TableName: &table, Item: key("U", "1"), ReturnValues: types.ReturnValueAllOld})
	if err != nil || put.Attributes["tags"] == nil {
		t.Errorf("got %#v (%v), want the old item's attributes", put, err)
	}
	del, err := ours.DeleteItem(ctx, &ddb.DeleteItemInput{TableName: &table, Key: key("U", "1"), ConditionExpression: aws.String("attribute_exists(sk)"), ReturnValues: types.ReturnValueAllOld})
	if err != nil || del.Attributes["tags"] != nil || del.Attributes["pk"] == nil {
		t.Errorf("got %#v (%v), want the replaced item's attributes (keys, no tags)", del, err)
	}
	_, err = ours.DeleteItem(ctx, &ddb.DeleteItemInput{TableName: &table, Key: key("U", "1"), ConditionExpression: aws.String("attribute_exists(sk)")})
	var failed *types.ConditionalCheckFailedException
	if !errors.As(err, &failed) {
		t.Errorf("got %v, want ConditionalCheckFailedException for a second delete", err)
	}
	_, err = ours.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("no-such-table"), Key: key("U", "1")})
	var missing *types.ResourceNotFoundException
	if !errors.As(err, &missing) {
		t.Errorf("got %v, want ResourceNotFoundException", err)
	}
}
