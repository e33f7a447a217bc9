// Package awsconfig builds AWS SDK configuration: from the Lambda
// environment in AWS, and with static test credentials for local stand-ins
// (DynamoDB Local, moto) on loopback.
package awsconfig

import (
	"errors"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Load returns the configuration a Lambda function runs with: the region and
// the execution role's credentials that Lambda puts in the environment.
//
// It is written here instead of calling config.LoadDefaultConfig, which links
// SSO, STS, IMDS and shared-file support that a Lambda never uses: about a
// quarter of each bootstrap, and cold-start time. Lambda's credentials stay
// valid for the life of the execution environment, so a static provider is
// enough.
func Load() (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || id == "" || secret == "" {
		return aws.Config{}, errors.New("AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (Lambda sets them)")
	}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")),
	}, nil
}

// Endpoint returns the endpoint override for a service, as the SDK's own
// loader reads it: AWS_ENDPOINT_URL_<SERVICE> (for example
// AWS_ENDPOINT_URL_DYNAMODB), else AWS_ENDPOINT_URL; nil for AWS's endpoint.
// This is how built binaries are pointed at local stand-ins.
func Endpoint(service string) *string {
	for _, name := range []string{"AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(service, " ", "_")), "AWS_ENDPOINT_URL"} {
		if v := os.Getenv(name); v != "" {
			return aws.String(v)
		}
	}
	return nil
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
