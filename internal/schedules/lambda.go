package schedules

import (
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/env"
)

// FromEnv returns the plans' schedules as the plans function keeps them: in
// the group SCHEDULE_GROUP, putting their events on the bus EVENT_BUS_ARN as
// the role SCHEDULER_ROLE_ARN, on EventBridge Scheduler in the function's
// region (or AWS_ENDPOINT_URL_SCHEDULER's stand-in).
func FromEnv() (Scheduler, error) {
	vars := map[string]string{}
	for _, name := range []string{"SCHEDULE_GROUP", "SCHEDULER_ROLE_ARN", "EVENT_BUS_ARN"} {
		v, err := env.Must(name)
		if err != nil {
			return Scheduler{}, err
		}
		vars[name] = v
	}
	cfg, err := awsconfig.Load()
	if err != nil {
		return Scheduler{}, err
	}
	return Scheduler{
		API:   scheduler.NewFromConfig(cfg, func(o *scheduler.Options) { o.BaseEndpoint = awsconfig.Endpoint("Scheduler") }),
		Group: vars["SCHEDULE_GROUP"], RoleARN: vars["SCHEDULER_ROLE_ARN"], BusARN: vars["EVENT_BUS_ARN"],
	}, nil
}
