// Package ddb calls DynamoDB through internal/awsjson, for the operations
// the store (internal/dynamo) uses, without the SDK's DynamoDB client.
//
// Why: the SDK's client (service/dynamodb) costs a bootstrap about 1.4 MB
// even for a handful of operations, most of it state built at init that
// the linker cannot drop; it was what kept the largest functions over
// 8 MB (docs/performance.md). What this package keeps of the SDK is its
// types (service/dynamodb/types: AttributeValue, Put, the exceptions), so
// that items are still marshalled with feature/dynamodb/attributevalue and
// errors read with errors.As as before; neither links the client.
//
// The protocol (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.LowLevelAPI.html):
// AWS JSON 1.0, each operation a POST / with Content-Type
// application/x-amz-json-1.0 and X-Amz-Target DynamoDB_20120810.<Operation>,
// signed for the service "dynamodb", with Accept-Encoding: identity; an
// answer carries X-Amz-Crc32, the CRC32 of its body, which is checked here as
// the SDK checks it (a mismatch is retried as a broken connection). Errors
// name their type in __type ("com.amazonaws.dynamodb.v20120810#
// ConditionalCheckFailedException"), and the types the operations declare
// come back as the SDK's typed errors (types.TransactionCanceledException
// with its CancellationReasons), with awsjson's Error around them (status,
// request id), so awsconfig.Transient and the retryer read them as the
// SDK's (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
// (The API reference says the cancellation reasons are listed "if using
// Java"; the JSON answer carries them for every client, as the SDK's
// maintainers confirm, https://github.com/aws/aws-sdk-go-v2/issues/2457,
// and as DynamoDB Local's answers do in this package's tests.)
// Retries are the SDK's standard retryer with DynamoDB's defaults: 4
// attempts, 25 ms base delay, as the SDK's DynamoDB client sets them.
//
// Inputs and outputs are this package's own structs, with the members the
// store uses and the SDK's names and Go types, so that code written for the
// SDK's client changes its package name only. Each member is sent under its
// Go name (the wire name); a nil pointer and an empty string, list or map
// are left out, as if unset. What is deliberately left out: the other
// operations, consumed capacity and item collection metrics, endpoint
// discovery, account-based endpoints (https://<account>.ddb.<region>...;
// the regional endpoint serves every account).
package ddb

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/awsjson"
)

// Service is DynamoDB as awsjson calls it; its ID is the SDK's, so
// AWS_ENDPOINT_URL_DYNAMODB points it at DynamoDB Local.
var Service = awsjson.Service{
	ID: "DynamoDB", EndpointPrefix: "dynamodb", SigningName: "dynamodb",
	TargetPrefix: "DynamoDB_20120810", Protocol: awsjson.JSON10, Exception: exception,
}

// Client calls DynamoDB. It is safe for concurrent use.
type Client struct {
	json *awsjson.Client
}

// New returns a client with cfg's region, credentials, HTTP client and
// endpoint (BaseEndpoint, else the region's), retrying as cfg says or, by
// default, as the SDK's DynamoDB client does.
func New(cfg aws.Config) (*Client, error) {
	if cfg.Retryer == nil {
		cfg.Retryer = func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts, o.BaseDelay = 4, 25*time.Millisecond
			})
		}
	}
	cfg.HTTPClient = checksummed{cfg.HTTPClient}
	c, err := awsjson.New(cfg, Service)
	if err != nil {
		return nil, err
	}
	return &Client{json: c}, nil
}

// FromEnv returns the client a Lambda function uses: its region and
// credentials, at AWS_ENDPOINT_URL_DYNAMODB's stand-in if that is set.
func FromEnv() (*Client, error) {
	cfg, err := awsconfig.Load()
	if err != nil {
		return nil, err
	}
	cfg.BaseEndpoint = awsconfig.Endpoint(Service.ID)
	return New(cfg)
}

// GetItemInput is the SDK's dynamodb.GetItemInput, in part.
type GetItemInput struct {
	TableName                *string
	Key                      map[string]types.AttributeValue
	ConsistentRead           *bool
	ProjectionExpression     *string
	ExpressionAttributeNames map[string]string
}

// GetItemOutput is the SDK's dynamodb.GetItemOutput, in part: Item is nil
// when there is no such item.
type GetItemOutput struct {
	Item map[string]types.AttributeValue
}

// GetItem reads one item.
func (c *Client) GetItem(ctx context.Context, in *GetItemInput) (*GetItemOutput, error) {
	var out struct{ Item Item }
	if err := c.call(ctx, "GetItem", in, &out); err != nil {
		return nil, err
	}
	return &GetItemOutput{Item: out.Item}, nil
}

// PutItemInput is the SDK's dynamodb.PutItemInput, in part.
type PutItemInput struct {
	TableName                           *string
	Item                                map[string]types.AttributeValue
	ConditionExpression                 *string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]types.AttributeValue
	ReturnValues                        types.ReturnValue
	ReturnValuesOnConditionCheckFailure types.ReturnValuesOnConditionCheckFailure
}

// PutItemOutput is the SDK's dynamodb.PutItemOutput, in part: the item's
// attributes before the write, if ReturnValues asked for them.
type PutItemOutput struct {
	Attributes map[string]types.AttributeValue
}

// PutItem writes one item.
func (c *Client) PutItem(ctx context.Context, in *PutItemInput) (*PutItemOutput, error) {
	var out attributes
	if err := c.call(ctx, "PutItem", in, &out); err != nil {
		return nil, err
	}
	return &PutItemOutput{Attributes: out.Attributes}, nil
}

// DeleteItemInput is the SDK's dynamodb.DeleteItemInput, in part.
type DeleteItemInput struct {
	TableName                           *string
	Key                                 map[string]types.AttributeValue
	ConditionExpression                 *string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]types.AttributeValue
	ReturnValues                        types.ReturnValue
	ReturnValuesOnConditionCheckFailure types.ReturnValuesOnConditionCheckFailure
}

// DeleteItemOutput is the SDK's dynamodb.DeleteItemOutput, in part.
type DeleteItemOutput struct {
	Attributes map[string]types.AttributeValue
}

// DeleteItem deletes one item.
func (c *Client) DeleteItem(ctx context.Context, in *DeleteItemInput) (*DeleteItemOutput, error) {
	var out attributes
	if err := c.call(ctx, "DeleteItem", in, &out); err != nil {
		return nil, err
	}
	return &DeleteItemOutput{Attributes: out.Attributes}, nil
}

// UpdateItemInput is the SDK's dynamodb.UpdateItemInput, in part.
type UpdateItemInput struct {
	TableName                           *string
	Key                                 map[string]types.AttributeValue
	UpdateExpression                    *string
	ConditionExpression                 *string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]types.AttributeValue
	ReturnValues                        types.ReturnValue
	ReturnValuesOnConditionCheckFailure types.ReturnValuesOnConditionCheckFailure
}

// UpdateItemOutput is the SDK's dynamodb.UpdateItemOutput, in part.
type UpdateItemOutput struct {
	Attributes map[string]types.AttributeValue
}

// UpdateItem updates (or creates) one item.
func (c *Client) UpdateItem(ctx context.Context, in *UpdateItemInput) (*UpdateItemOutput, error) {
	var out attributes
	if err := c.call(ctx, "UpdateItem", in, &out); err != nil {
		return nil, err
	}
	return &UpdateItemOutput{Attributes: out.Attributes}, nil
}

// attributes is the answer of PutItem, DeleteItem and UpdateItem.
type attributes struct{ Attributes Item }

// QueryInput is the SDK's dynamodb.QueryInput, in part.
type QueryInput struct {
	TableName                 *string
	IndexName                 *string
	KeyConditionExpression    *string
	FilterExpression          *string
	ProjectionExpression      *string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]types.AttributeValue
	ScanIndexForward          *bool
	ConsistentRead            *bool
	Limit                     *int32
	Select                    types.Select
	ExclusiveStartKey         map[string]types.AttributeValue
}

// QueryOutput is the SDK's dynamodb.QueryOutput, in part: LastEvaluatedKey
// is nil on the last page.
type QueryOutput struct {
	Items            []map[string]types.AttributeValue
	Count            int32
	ScannedCount     int32
	LastEvaluatedKey map[string]types.AttributeValue
}

// Query reads one page of a partition's items (of the table or an index).
func (c *Client) Query(ctx context.Context, in *QueryInput) (*QueryOutput, error) {
	var out page
	if err := c.call(ctx, "Query", in, &out); err != nil {
		return nil, err
	}
	return &QueryOutput{Items: out.Items.maps(), Count: out.Count, ScannedCount: out.ScannedCount, LastEvaluatedKey: out.LastEvaluatedKey}, nil
}

// ScanInput is the SDK's dynamodb.ScanInput, in part.
type ScanInput struct {
	TableName                 *string
	IndexName                 *string
	FilterExpression          *string
	ProjectionExpression      *string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]types.AttributeValue
	ConsistentRead            *bool
	Limit                     *int32
	Select                    types.Select
	ExclusiveStartKey         map[string]types.AttributeValue
	Segment                   *int32
	TotalSegments             *int32
}

// ScanOutput is the SDK's dynamodb.ScanOutput, in part.
type ScanOutput struct {
	Items            []map[string]types.AttributeValue
	Count            int32
	ScannedCount     int32
	LastEvaluatedKey map[string]types.AttributeValue
}

// Scan reads one page of the whole table (or index).
func (c *Client) Scan(ctx context.Context, in *ScanInput) (*ScanOutput, error) {
	var out page
	if err := c.call(ctx, "Scan", in, &out); err != nil {
		return nil, err
	}
	return &ScanOutput{Items: out.Items.maps(), Count: out.Count, ScannedCount: out.ScannedCount, LastEvaluatedKey: out.LastEvaluatedKey}, nil
}

// page is the answer of Query and Scan.
type page struct {
	Items            items
	Count            int32
	ScannedCount     int32
	LastEvaluatedKey Item
}

// TransactWriteItemsInput is the SDK's dynamodb.TransactWriteItemsInput, in
// part; each item's Put, Update, Delete or ConditionCheck is sent whole.
type TransactWriteItemsInput struct {
	TransactItems      []types.TransactWriteItem
	ClientRequestToken *string
}

// TransactWriteItemsOutput is the SDK's dynamodb.TransactWriteItemsOutput,
// of which the store reads nothing.
type TransactWriteItemsOutput struct{}

// TransactWriteItems writes up to 100 items all or none. A transaction
// that is cancelled is a *types.TransactionCanceledException with a
// reason for each item, in order.
//
// Without a ClientRequestToken it sends a new one, as the SDK's client
// does: the request is written once and each retry sends it as it was, so
// a retry of a transaction that was committed (its answer lost: a timeout,
// a 500, a broken checksum) succeeds instead of failing its own conditions
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html#DDB-TransactWriteItems-request-ClientRequestToken:
// the token makes the call idempotent for 10 minutes).
func (c *Client) TransactWriteItems(ctx context.Context, in *TransactWriteItemsInput) (*TransactWriteItemsOutput, error) {
	if in.ClientRequestToken == nil {
		withToken := *in
		withToken.ClientRequestToken = aws.String(uuid.NewString())
		in = &withToken
	}
	if err := c.call(ctx, "TransactWriteItems", in, nil); err != nil {
		return nil, err
	}
	return &TransactWriteItemsOutput{}, nil
}

// call sends in, written as a request shape, and reads the answer into out.
func (c *Client) call(ctx context.Context, operation string, in, out any) error {
	return c.json.Call(ctx, operation, shape{in}, out)
}
