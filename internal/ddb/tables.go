package ddb

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The table operations are for the local stack and the tests, which make
// their own tables; in AWS, CloudFormation owns the table and no function
// calls these (nor is granted them).

// CreateTableInput is the SDK's dynamodb.CreateTableInput, in part.
type CreateTableInput struct {
	TableName              *string
	AttributeDefinitions   []types.AttributeDefinition
	KeySchema              []types.KeySchemaElement
	GlobalSecondaryIndexes []types.GlobalSecondaryIndex
	LocalSecondaryIndexes  []types.LocalSecondaryIndex
	BillingMode            types.BillingMode
	ProvisionedThroughput  *types.ProvisionedThroughput
}

// CreateTable starts creating a table; DescribeTable says when it is
// ACTIVE. A table of that name is a *types.ResourceInUseException.
func (c *Client) CreateTable(ctx context.Context, in *CreateTableInput) error {
	return c.call(ctx, "CreateTable", in, nil)
}

// DescribeTableInput is the SDK's dynamodb.DescribeTableInput.
type DescribeTableInput struct {
	TableName *string
}

// DescribeTableOutput is the SDK's dynamodb.DescribeTableOutput, in part.
type DescribeTableOutput struct {
	Table *TableDescription
}

// TableDescription is the SDK's types.TableDescription, in part (that one
// has timestamps in a form of its own).
type TableDescription struct {
	TableName   *string
	TableStatus types.TableStatus
}

// DescribeTable reads a table's status.
func (c *Client) DescribeTable(ctx context.Context, in *DescribeTableInput) (*DescribeTableOutput, error) {
	var out DescribeTableOutput
	if err := c.call(ctx, "DescribeTable", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateTimeToLiveInput is the SDK's dynamodb.UpdateTimeToLiveInput.
type UpdateTimeToLiveInput struct {
	TableName               *string
	TimeToLiveSpecification *types.TimeToLiveSpecification
}

// UpdateTimeToLive turns TTL on or off.
func (c *Client) UpdateTimeToLive(ctx context.Context, in *UpdateTimeToLiveInput) error {
	return c.call(ctx, "UpdateTimeToLive", in, nil)
}

// DeleteTableInput is the SDK's dynamodb.DeleteTableInput.
type DeleteTableInput struct {
	TableName *string
}

// DeleteTable deletes a table and its items.
func (c *Client) DeleteTable(ctx context.Context, in *DeleteTableInput) error {
	return c.call(ctx, "DeleteTable", in, nil)
}
