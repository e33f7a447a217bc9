// Package awsconfig builds AWS SDK configuration: the default chain in
// Lambda, and static test credentials for local stand-ins (DynamoDB Local,
// moto) on loopback.
package awsconfig

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Load returns the default configuration. Endpoints can be redirected with
// AWS_ENDPOINT_URL_<SERVICE> (for example AWS_ENDPOINT_URL_DYNAMODB), which
// the SDK reads itself: that is how built binaries are pointed at local stand-ins.
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	return cfg, nil
}

// Local returns a configuration for a local stand-in at endpoint, with fixed
// credentials so nothing looks for real ones.
func Local(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}
