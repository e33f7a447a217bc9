package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/awsconfig"
	"github.com/dcs-access/dcs-access/internal/awsjson"
	"github.com/dcs-access/dcs-access/internal/secrets"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

var names atomic.Int64

// createSecret stores a new secret in moto with the SDK's client and
// returns its ARN.
func createSecret(t *testing.T, sdk *secretsmanager.Client, in *secretsmanager.CreateSecretInput) string {
	t.Helper()
	in.Name = aws.String(fmt.Sprintf("dcs-access/test/%d-%d", time.Now().UnixNano(), names.Add(1)))
	out, err := sdk.CreateSecret(context.Background(), in)
	if err != nil {
		t.Fatalf("create secret in moto: %v", err)
	}
	return aws.ToString(out.ARN)
}

func TestSecretStringReadsTheCurrentValueFromSecretsManager(t *testing.T) {
	sdk := secretsmanager.NewFromConfig(awsconfig.Local(testenv.MotoEndpoint(t)))
	m := secrets.Manager{API: testenv.Moto(t, secrets.Service)}
	ctx := context.Background()
	arn := createSecret(t, sdk, &secretsmanager.CreateSecretInput{SecretString: aws.String("-----BEGIN PRIVATE KEY-----\nMIIE…")})
	if got, err := m.SecretString(ctx, arn); err != nil || got != "-----BEGIN PRIVATE KEY-----\nMIIE…" {
		t.Fatalf("got %q, %v; want the stored value", got, err)
	}
	if _, err := sdk.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &arn, SecretString: aws.String("rotated")}); err != nil {
		t.Fatal(err)
	}
	if got, err := m.SecretString(ctx, arn); err != nil || got != "rotated" {
		t.Fatalf("got %q, %v; want the current value after a rotation", got, err)
	}

	t.Run("a secret that is not there is Secrets Manager's ResourceNotFoundException, not a retry", func(t *testing.T) {
		_, err := m.SecretString(ctx, "arn:aws:secretsmanager:us-east-1:123456789012:secret:dcs-access/test/missing-AbCdEf")
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ResourceNotFoundException" {
			t.Fatalf("got %v, want ResourceNotFoundException", err)
		}
		if access.ErrorKind(err) == access.EUNAVAILABLE {
			t.Errorf("got %v unavailable, want a missing secret not retried", err)
		}
	})
	t.Run("a binary secret has no string value", func(t *testing.T) {
		bin := createSecret(t, sdk, &secretsmanager.CreateSecretInput{SecretBinary: []byte{0, 1, 2}})
		if _, err := m.SecretString(ctx, bin); err == nil || !strings.Contains(err.Error(), "has no string value") {
			t.Fatalf("got %v, want the binary secret refused", err)
		}
	})
}

// answering is a Secrets Manager that answers every call with one error.
type answering struct{ err error }

func (a answering) Call(context.Context, string, any, any) error { return a.err }

func TestThrottlingAndServiceFaultsAreUnavailable(t *testing.T) {
	for code, want := range map[string]access.Kind{
		"ThrottlingException":   access.EUNAVAILABLE,
		"InternalServiceError":  access.EUNAVAILABLE,
		"AccessDeniedException": access.EINTERNAL,
	} {
		t.Run(code, func(t *testing.T) {
			m := secrets.Manager{API: answering{&smithy.OperationError{ServiceID: "Secrets Manager", OperationName: "GetSecretValue", Err: &awsjson.Error{StatusCode: 400, Code: code}}}}
			if _, err := m.SecretString(context.Background(), "arn"); access.ErrorKind(err) != want {
				t.Errorf("got kind %v for %v, want %v", access.ErrorKind(err), err, want)
			}
		})
	}
}
