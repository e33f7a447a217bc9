package secrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/secretversions"
)

// Describe returns the secret's rotation state.
func (m Manager) Describe(ctx context.Context, id string) (secretversions.Description, error) {
	var out struct {
		ARN, Name          string
		RotationEnabled    bool
		VersionIdsToStages map[string][]string
	}
	if err := m.API.Call(ctx, "DescribeSecret", secretID{id}, &out); err != nil {
		if code(err) == "ResourceNotFoundException" {
			return secretversions.Description{}, &access.Error{Kind: access.ENOTFOUND, Code: "SECRET_NOT_FOUND", Message: "No such secret: " + id + ".", Err: err}
		}
		return secretversions.Description{}, callError("describe secret "+id, err)
	}
	return secretversions.Description{ARN: out.ARN, Name: out.Name, RotationEnabled: out.RotationEnabled, Stages: out.VersionIdsToStages}, nil
}

// Version returns the string value of the secret's version versionID, or
// of the version labelled stage when versionID is "" (both: the version,
// which must carry the label). A version without a value is ErrNoValue.
func (m Manager) Version(ctx context.Context, id, versionID, stage string) (string, error) {
	in := struct {
		SecretID     string `json:"SecretId"`
		VersionID    string `json:"VersionId,omitempty"`
		VersionStage string `json:"VersionStage,omitempty"`
	}{id, versionID, stage}
	var out struct{ SecretString *string }
	if err := m.API.Call(ctx, "GetSecretValue", in, &out); err != nil {
		if code(err) == "ResourceNotFoundException" {
			return "", secretversions.ErrNoValue(id, versionID, stage)
		}
		return "", callError("read secret "+id, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secret %s version %q has no string value", id, versionID)
	}
	return *out.SecretString, nil
}

// PutPending stores value as the version versionID labelled AWSPENDING:
// createSecret's write. rotationToken is the event's RotationToken, which
// Secrets Manager checks when the function runs in another account ("" for
// none).
func (m Manager) PutPending(ctx context.Context, id, versionID, value, rotationToken string) error {
	in := struct {
		SecretID           string   `json:"SecretId"`
		ClientRequestToken string   `json:"ClientRequestToken"`
		SecretString       string   `json:"SecretString"`
		VersionStages      []string `json:"VersionStages"`
		RotationToken      string   `json:"RotationToken,omitempty"`
	}{id, versionID, value, []string{secretversions.Pending}, rotationToken}
	if err := m.API.Call(ctx, "PutSecretValue", in, nil); err != nil {
		return callError("store the pending version of secret "+id, err)
	}
	return nil
}

// Promote moves AWSCURRENT to the version versionID from the version from
// (Secrets Manager labels from AWSPREVIOUS), then takes AWSPENDING off
// versionID: finishSecret's writes.
func (m Manager) Promote(ctx context.Context, id, versionID, from string) error {
	type stageMove struct {
		SecretID            string `json:"SecretId"`
		VersionStage        string `json:"VersionStage"`
		MoveToVersionID     string `json:"MoveToVersionId,omitempty"`
		RemoveFromVersionID string `json:"RemoveFromVersionId,omitempty"`
	}
	if err := m.API.Call(ctx, "UpdateSecretVersionStage", stageMove{id, secretversions.Current, versionID, from}, nil); err != nil {
		return callError("label the new version of secret "+id+" AWSCURRENT", err)
	}
	if err := m.API.Call(ctx, "UpdateSecretVersionStage", stageMove{SecretID: id, VersionStage: secretversions.Pending, RemoveFromVersionID: versionID}, nil); err != nil {
		return callError("take AWSPENDING off the new version of secret "+id, err)
	}
	return nil
}

type secretID struct {
	SecretID string `json:"SecretId"`
}

// code is the Secrets Manager error code of err ("" for another error).
func code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// callError says what failed; throttling and service faults are
// EUNAVAILABLE (worth retrying), anything else is returned as it is.
func callError(what string, err error) error {
	switch code(err) {
	case "ThrottlingException", "InternalServiceError":
		return &access.Error{Kind: access.EUNAVAILABLE, Code: "UNAVAILABLE", Message: "Secrets Manager is busy. Try again shortly.", Err: fmt.Errorf("%s: %w", what, err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}
