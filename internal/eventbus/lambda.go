package eventbus

import (
	"github.com/dcs-access/dcs-access/internal/awsjson"
	"github.com/dcs-access/dcs-access/internal/env"
)

// FromEnv returns the bus EVENT_BUS_NAME, on EventBridge in the function's
// region (or AWS_ENDPOINT_URL_EVENTBRIDGE's stand-in).
func FromEnv() (Bus, error) {
	name, err := env.Must("EVENT_BUS_NAME")
	if err != nil {
		return Bus{}, err
	}
	client, err := awsjson.FromEnv(Service)
	if err != nil {
		return Bus{}, err
	}
	return Bus{Name: name, API: client}, nil
}
