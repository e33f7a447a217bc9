package eventbus

import (
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/env"
)

// FromEnv returns the bus EVENT_BUS_NAME, on EventBridge in the function's
// region (or AWS_ENDPOINT_URL_EVENTBRIDGE's stand-in).
func FromEnv() (Bus, error) {
	name, err := env.Must("EVENT_BUS_NAME")
	if err != nil {
		return Bus{}, err
	}
	cfg, err := awsconfig.Load()
	if err != nil {
		return Bus{}, err
	}
	return Bus{Name: name, API: eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = awsconfig.Endpoint("EventBridge") })}, nil
}
