// Package secrets reads the pipeline's secrets (the Salesforce private key,
// the DCS API token) from AWS Secrets Manager, and keeps them in memory for
// the local stack.
package secrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/awsjson"
	"github.com/dcs-access/dcs-access/internal/secretversions"
)

// Service is Secrets Manager, which this package calls through awsjson
// (GetSecretValue) rather than the SDK's client: that client, for one call,
// cost the pipeline steps 0.72 MB (docs/performance.md).
// internal/templatecheck reads it to know what a function calls.
var Service = awsjson.Service{ID: "Secrets Manager", EndpointPrefix: "secretsmanager", SigningName: "secretsmanager", TargetPrefix: "secretsmanager", Protocol: awsjson.JSON11}

// API is how this package calls Secrets Manager: an *awsjson.Client of
// Service, or a test's fake.
type API interface {
	Call(ctx context.Context, operation string, in, out any) error
}

// Manager reads secrets from Secrets Manager.
type Manager struct{ API API }

// SecretString returns the secret's current string value. Throttling and
// service faults are EUNAVAILABLE (retried by the state machine); a missing
// or forbidden secret is not.
func (m Manager) SecretString(ctx context.Context, arn string) (string, error) {
	// AWSCURRENT, named: what Secrets Manager returns without a stage, said
	// outright (moto, without one, returns the version last put, not the
	// one a rotation's finishSecret labelled AWSCURRENT).
	in := struct {
		SecretID     string `json:"SecretId"`
		VersionStage string
	}{arn, secretversions.Current}
	var out struct{ SecretString *string } // none for a binary secret
	if err := m.API.Call(ctx, "GetSecretValue", in, &out); err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			switch apiErr.ErrorCode() {
			case "ThrottlingException", "InternalServiceError":
				return "", access.Unavailable(err)
			}
		}
		return "", fmt.Errorf("secret %s: %w", arn, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secret %s has no string value", arn)
	}
	return *out.SecretString, nil
}
