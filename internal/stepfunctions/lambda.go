package stepfunctions

import (
	"github.com/dcs-access/dcs-access/internal/awsjson"
	"github.com/dcs-access/dcs-access/internal/env"
)

// FromEnv returns the state machine STATE_MACHINE_ARN, on Step Functions in
// the function's region (or AWS_ENDPOINT_URL_SFN's stand-in).
func FromEnv() (*Machine, error) {
	arn, err := env.Must("STATE_MACHINE_ARN")
	if err != nil {
		return nil, err
	}
	client, err := awsjson.FromEnv(Service)
	if err != nil {
		return nil, err
	}
	return New(client, arn), nil
}
