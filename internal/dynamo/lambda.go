package dynamo

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/env"
)

// FromEnv returns the store a Lambda function uses: the table TABLE_NAME, on
// DynamoDB in the function's region (or AWS_ENDPOINT_URL_DYNAMODB's stand-in).
func FromEnv() (*Store, error) {
	table, err := env.Must("TABLE_NAME")
	if err != nil {
		return nil, err
	}
	cfg, err := awsconfig.Load()
	if err != nil {
		return nil, err
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = awsconfig.Endpoint("DynamoDB") })
	return New(client, table, time.Now), nil
}
