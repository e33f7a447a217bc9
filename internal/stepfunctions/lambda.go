package stepfunctions

import (
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/env"
)

// FromEnv returns the state machine STATE_MACHINE_ARN, on Step Functions in
// the function's region (or AWS_ENDPOINT_URL_SFN's stand-in).
func FromEnv() (*Machine, error) {
	arn, err := env.Must("STATE_MACHINE_ARN")
	if err != nil {
		return nil, err
	}
	cfg, err := awsconfig.Load()
	if err != nil {
		return nil, err
	}
	return New(sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = awsconfig.Endpoint("SFN") }), arn), nil
}
