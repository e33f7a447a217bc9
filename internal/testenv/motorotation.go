package testenv

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/awsconfig"
)

// StartMotoRotation puts a secret in moto where Secrets Manager puts it when
// a rotation starts, before it invokes the rotation function, and returns
// the rotation's ClientRequestToken: rotation turned on, and a version
// without a value, labelled AWSPENDING, whose id is that token. moto's
// RotateSecret makes exactly that, then tries to invoke the rotation
// function; it is given one moto does not have (the test invokes the steps
// itself), so it answers ResourceNotFoundException and leaves the rotation
// as started. Checked after the call, so that a moto that changes this fails
// here, by name.
func StartMotoRotation(t testing.TB, secretARN string) string {
	t.Helper()
	sm := secretsmanager.NewFromConfig(awsconfig.Local(MotoEndpoint(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	token := uuid.NewString()
	_, err := sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{
		SecretId: &secretARN, ClientRequestToken: &token,
		RotationLambdaARN: aws.String("arn:aws:lambda:us-east-1:123456789012:function:invoked-by-the-test"),
		RotationRules:     &smtypes.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)},
	})
	var notFound *smtypes.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("moto's RotateSecret: got %v, want it to find no rotation function", err)
	}
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &secretARN})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(d.RotationEnabled) || !slices.Equal(d.VersionIdsToStages[token], []string{"AWSPENDING"}) {
		t.Fatalf("after RotateSecret moto has rotation %v and versions %v, want rotation on and %s AWSPENDING", aws.ToBool(d.RotationEnabled), d.VersionIdsToStages, token)
	}
	return token
}
