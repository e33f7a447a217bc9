package dynamo

import (
	"time"

	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/env"
)

// FromEnv returns the store a Lambda function uses: the table TABLE_NAME, on
// DynamoDB in the function's region (or AWS_ENDPOINT_URL_DYNAMODB's stand-in).
func FromEnv() (*Store, error) {
	table, err := env.Must("TABLE_NAME")
	if err != nil {
		return nil, err
	}
	client, err := ddb.FromEnv()
	if err != nil {
		return nil, err
	}
	return New(client, table, time.Now), nil
}
