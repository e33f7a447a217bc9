package apitoken

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"math/big"
	"testing"
)

// p256N is the order of P-256's base point, the n of "low S" (S ≤ n/2).
var p256N = elliptic.P256().Params().N

// mirrorS returns the 64-byte R||S signature with S replaced by n−S: the
// other signature that plain ECDSA verification accepts for the same input.
func mirrorS(sig []byte) []byte {
	out := make([]byte, 64)
	copy(out[:32], sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	new(big.Int).Sub(p256N, s).FillBytes(out[32:])
	return out
}

func isLowS(sig []byte) bool {
	return new(big.Int).SetBytes(sig[32:]).Cmp(new(big.Int).Rsh(p256N, 1)) <= 0
}

func TestVerifyAcceptsOnlyTheLowSSpellingOfASignature(t *testing.T) {
	signer := newSigner(t)
	v := verifierFor(signer)
	for i := range 20 {
		raw := mint(t, signer, grant())
		sig := segment(t, raw, 2)
		mirrored := replaceSegment(raw, 2, base64.RawURLEncoding.EncodeToString(mirrorS(sig)))
		low, high := raw, mirrored
		if !isLowS(sig) {
			low, high = mirrored, raw
		}
		if _, err := v.Verify(low); err != nil {
			t.Fatalf("token %d: the low-S spelling: got error %v, want it accepted", i, err)
		}
		if claims, err := v.Verify(high); !errors.Is(err, ErrInvalid) || claims != nil {
			t.Fatalf("token %d: the high-S spelling: got (%+v, %v), want (nil, an error wrapping ErrInvalid)", i, claims, err)
		}
	}
}

// highSSigner signs with a real key and always answers with the high-S
// form, as KMS may: the minter must normalise it.
func highSSigner(t testing.TB) (fakeSigner, *ecdsa.PublicKey) {
	t.Helper()
	key := newKey(t, elliptic.P256())
	return fakeSigner{
		KeyIDFunc: func() string { return "kid-1" },
		SignDigestFunc: func(_ context.Context, digest []byte) ([]byte, error) {
			r, s, err := ecdsa.Sign(rand.Reader, key, digest)
			if err != nil {
				return nil, err
			}
			if s.Cmp(new(big.Int).Rsh(p256N, 1)) <= 0 {
				s.Sub(p256N, s)
			}
			return derSignature(t, r, s), nil
		},
	}, &key.PublicKey
}

func TestMintNormalisesAHighSSignatureFromTheSigner(t *testing.T) {
	signer, pub := highSSigner(t)
	v := NewVerifier(testIssuer, map[string]*ecdsa.PublicKey{"kid-1": pub}, fixedClock)
	for i := range 20 {
		raw := mint(t, signer, grant())
		if sig := segment(t, raw, 2); !isLowS(sig) {
			t.Fatalf("token %d: got S %x, want S ≤ n/2", i, sig[32:])
		}
		if _, err := v.Verify(raw); err != nil {
			t.Fatalf("token %d: got error %v, want the normalised token accepted", i, err)
		}
	}
}
