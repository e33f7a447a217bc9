package kmskey_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/kmskey"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

func createKey(t *testing.T, client *kms.Client, spec types.KeySpec, usage types.KeyUsageType) string {
	t.Helper()
	out, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	return *out.KeyMetadata.Arn
}

// The keys are made with the SDK's client; the package under test calls
// moto's KMS the way a function does, through awsjson.
func TestTokensSignedInKMSVerifyWithItsPublicKey(t *testing.T) {
	sdk, client := testenv.KMS(t), testenv.Moto(t, kmskey.Service)
	ctx := context.Background()
	oldKey := createKey(t, sdk, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
	newKey := createKey(t, sdk, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)

	keys, err := kmskey.PublicKeys(ctx, client, []string{oldKey, newKey})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("got %d keys, want 2", len(keys))
	}
	now := time.Now()
	verifier := apitoken.NewVerifier("dcs-access:test", keys, func() time.Time { return now })
	for _, arn := range []string{oldKey, newKey} {
		signer := kmskey.NewSigner(client, arn)
		if !strings.HasSuffix(arn, "/"+signer.KeyID()) {
			t.Fatalf("got kid %q, want the key id of %s", signer.KeyID(), arn)
		}
		// Many signatures, so that short R or S values (leading zero bytes) occur and are encoded correctly.
		for i := range 20 {
			tok, err := apitoken.Minter{Issuer: "dcs-access:test", Signer: signer}.Mint(ctx, apitoken.Grant{
				ID: "id", User: "ada@example.com", Tenant: "acme", IssuedAt: now,
			})
			if err != nil {
				t.Fatal(err)
			}
			// KMS returns high-S signatures about half the time; the
			// verifier accepts only low-S ones, so this also shows the
			// minter normalising what KMS returned.
			if _, err := verifier.Verify(tok); err != nil {
				t.Fatalf("token %d from %s does not verify: %v", i, arn, err)
			}
		}
	}

	// A key that is not trusted: its tokens do not verify.
	stranger := kmskey.NewSigner(client, createKey(t, sdk, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify))
	tok, err := apitoken.Minter{Issuer: "dcs-access:test", Signer: stranger}.Mint(ctx, apitoken.Grant{ID: "id", User: "u", Tenant: "t", IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.Verify(tok); err == nil {
		t.Fatal("got a token from an untrusted key accepted")
	}
}

func TestPublicKeysRefusesKeysOfTheWrongKind(t *testing.T) {
	sdk, client := testenv.KMS(t), testenv.Moto(t, kmskey.Service)
	for name, tc := range map[string]struct{ arn, want string }{
		"an RSA signing key":      {createKey(t, sdk, types.KeySpecRsa2048, types.KeyUsageTypeSignVerify), "is not a P-256 key"},
		"a P-384 signing key":     {createKey(t, sdk, types.KeySpecEccNistP384, types.KeyUsageTypeSignVerify), "is not a P-256 key"},
		"an encryption key":       {createKey(t, sdk, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt), "want SIGN_VERIFY"},
		"a key that is not there": {"arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000", "NotFoundException"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := kmskey.PublicKeys(context.Background(), client, []string{tc.arn})
			if err == nil {
				t.Fatal("got no error, want the key refused")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q in it", err, tc.want)
			}
		})
	}
}

func TestAKeyThatIsNotThereIsKMSsNotFound(t *testing.T) {
	signer := kmskey.NewSigner(testenv.Moto(t, kmskey.Service), "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000")
	_, err := signer.SignDigest(context.Background(), make([]byte, 32))
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NotFoundException" {
		t.Fatalf("got %v, want KMS's NotFoundException as a smithy.APIError", err)
	}
}

func TestKeyID(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab": "1234abcd-12ab-34cd-56ef-1234567890ab",
		"1234abcd-12ab-34cd-56ef-1234567890ab":                                        "1234abcd-12ab-34cd-56ef-1234567890ab",
	} {
		if got := kmskey.KeyID(in); got != want {
			t.Errorf("got %q for %q, want %q", got, in, want)
		}
	}
}
