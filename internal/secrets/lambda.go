package secrets

import "github.com/dcs-access/dcs-access/internal/awsjson"

// FromEnv returns Secrets Manager in the function's region (or
// AWS_ENDPOINT_URL_SECRETS_MANAGER's stand-in).
func FromEnv() (Manager, error) {
	client, err := awsjson.FromEnv(Service)
	if err != nil {
		return Manager{}, err
	}
	return Manager{API: client}, nil
}
