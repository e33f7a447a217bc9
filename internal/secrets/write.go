package secrets

import (
	"context"

	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/secretversions"
)

// Store makes value the current version of the secret called name,
// creating the secret (with description) if there is none. Each write sends
// its own ClientRequestToken, which this raw protocol client must (the SDKs
// make one up): https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
func (m Manager) Store(ctx context.Context, name, value, description string) (secretversions.Stored, error) {
	create := struct {
		Name               string
		SecretString       string
		Description        string `json:",omitempty"`
		ClientRequestToken string
	}{name, value, description, uuid.NewString()}
	var out struct{ ARN string }
	err := m.API.Call(ctx, "CreateSecret", create, &out)
	if err == nil {
		return secretversions.Stored{ARN: out.ARN, Created: true}, nil
	}
	if code(err) != "ResourceExistsException" {
		return secretversions.Stored{}, callError("create secret "+name, err)
	}
	put := struct {
		SecretID           string `json:"SecretId"`
		SecretString       string
		ClientRequestToken string
	}{name, value, uuid.NewString()} // no VersionStages: the new version is AWSCURRENT
	if err := m.API.Call(ctx, "PutSecretValue", put, &out); err != nil {
		return secretversions.Stored{}, callError("store a new version of secret "+name, err)
	}
	return secretversions.Stored{ARN: out.ARN}, nil
}

// EnableRotation turns on the secret's rotation by the Lambda function
// lambdaARN every days days, without rotating it now: Secrets Manager then
// only runs the function's testSecret step to check the configuration
// ("RotateImmediately": https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html).
// The caller needs secretsmanager:RotateSecret and lambda:InvokeFunction on
// the function.
func (m Manager) EnableRotation(ctx context.Context, arn, lambdaARN string, days int) error {
	in := struct {
		SecretID           string `json:"SecretId"`
		ClientRequestToken string
		RotationLambdaARN  string
		RotationRules      struct{ AutomaticallyAfterDays int }
		RotateImmediately  bool
	}{SecretID: arn, ClientRequestToken: uuid.NewString(), RotationLambdaARN: lambdaARN}
	in.RotationRules.AutomaticallyAfterDays = days
	if err := m.API.Call(ctx, "RotateSecret", in, nil); err != nil {
		return callError("turn on the rotation of secret "+arn, err)
	}
	return nil
}

// SecretARN returns the ARN of the secret called name (ENOTFOUND when
// there is none).
func (m Manager) SecretARN(ctx context.Context, name string) (string, error) {
	d, err := m.Describe(ctx, name)
	return d.ARN, err
}
