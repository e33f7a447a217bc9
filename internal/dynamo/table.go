package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/ddb"
)

// CreateTable creates the table as template.yaml declares it (keys, on-demand,
// TTL on "ttl") unless it exists. The local stack and tests use it; in AWS
// CloudFormation owns the table.
func CreateTable(ctx context.Context, client *ddb.Client, table string) error {
	err := client.CreateTable(ctx, &ddb.CreateTableInput{
		TableName: &table,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(index1PK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(index1SK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(Index1),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(index1PK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(index1SK), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	if err := waitActive(ctx, client, table, 30*time.Second); err != nil {
		return fmt.Errorf("wait for table %s: %w", table, err)
	}
	err = client.UpdateTimeToLive(ctx, &ddb.UpdateTimeToLiveInput{
		TableName:               &table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable ttl on %s: %w", table, err)
	}
	return nil
}

// waitActive polls the table until it is ACTIVE (DynamoDB Local's are at
// once), as the SDK's TableExistsWaiter does, for at most limit.
func waitActive(ctx context.Context, client *ddb.Client, table string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		out, err := client.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: &table})
		var missing *types.ResourceNotFoundException
		switch {
		case err == nil && out.Table != nil && out.Table.TableStatus == types.TableStatusActive:
			return nil
		case err != nil && !errors.As(err, &missing):
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
