package secrets

import (
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
)

// FromEnv returns Secrets Manager in the function's region (or
// AWS_ENDPOINT_URL_SECRETS_MANAGER's stand-in).
func FromEnv() (Manager, error) {
	cfg, err := awsconfig.Load()
	if err != nil {
		return Manager{}, err
	}
	return Manager{API: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = awsconfig.Endpoint("Secrets Manager") })}, nil
}
