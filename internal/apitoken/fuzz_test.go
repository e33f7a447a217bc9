package apitoken

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fuzzKey is derived from a fixed scalar: the fuzzing coordinator and its
// workers are separate processes, and all must trust the key that signed the
// seeds, or the seeds would be worthless inside a worker.
func fuzzKey(t testing.TB) *KeySigner {
	t.Helper()
	scalar := sha256.Sum256([]byte("dcs-access FuzzVerify key"))
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar[:])
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewKeySigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzVerify checks that Verify never panics and accepts only tokens whose
// signed part (header and payload, byte for byte) is one this test minted.
// The signature segment itself is not compared: ECDSA nonces are random, so
// each fuzzing process mints its own signatures for the same seeds. (That one
// signed part has no second valid signature string, high S or base64 padding
// bits, is TestVerifyAcceptsOnlyTheLowSSpellingOfASignature's and TestVerifyRejects's.)
func FuzzVerify(f *testing.F) {
	signer := fuzzKey(f)
	v := NewVerifier(testIssuer, map[string]*ecdsa.PublicKey{signer.KeyID(): signer.Public()}, fixedClock)

	expiry := t0.Add(time.Hour)
	withExp := grant()
	withExp.ExpiresAt = &expiry
	minted := map[string]*Claims{} // signed part → claims
	var seeds []string
	for _, g := range []Grant{grant(), withExp} {
		raw := mint(f, signer, g)
		claims, err := v.Verify(raw)
		if err != nil {
			f.Fatalf("a minted seed does not verify: %v", err)
		}
		minted[raw[:strings.LastIndexByte(raw, '.')]] = claims
		seeds = append(seeds, raw)
	}

	enc := base64.RawURLEncoding.EncodeToString
	valid := seeds[0]
	parts := strings.Split(valid, ".")
	corrupt := []string{
		"", ".", "..", "...", strings.Repeat(".", 100),
		valid + ".", "." + valid, valid + "." + parts[2],
		valid[:len(valid)-1], valid[:len(valid)/2],
		parts[0] + "." + parts[1] + ".",
		parts[0] + ".." + parts[2],
		"." + parts[1] + "." + parts[2],
		forge(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": signer.KeyID()}, validClaims(nil)),
		forge(f, jwt.SigningMethodHS256, []byte(signer.KeyID()), map[string]any{"kid": signer.KeyID()}, validClaims(nil)),
		enc([]byte(`{"alg":"ES256","kid":"`+signer.KeyID()+`"}`)) + "." + parts[1] + "." + parts[2],
		enc([]byte(`{"alg":"ES256","kid":{"$ne":null}}`)) + "." + parts[1] + "." + parts[2],
		enc([]byte(`{"alg":"ES256","kid":"`+signer.KeyID()+`","crit":["exp"]}`)) + "." + parts[1] + "." + parts[2],
		parts[0] + "." + enc([]byte(`{"iss":1e999}`)) + "." + parts[2],
		parts[0] + "." + enc([]byte(`{"exp":-1e308,"iat":1e308}`)) + "." + parts[2],
		parts[0] + "." + enc([]byte(`null`)) + "." + parts[2],
	}
	for _, raw := range append(seeds, corrupt...) {
		f.Add(raw)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := v.Verify(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || claims != nil {
				t.Fatalf("got (%+v, %v), want (nil, an error wrapping ErrInvalid)", claims, err)
			}
			return
		}
		want, ok := minted[raw[:max(strings.LastIndexByte(raw, '.'), 0)]]
		if !ok {
			t.Fatalf("accepted %q, whose signed part was never minted", raw)
		}
		if !reflect.DeepEqual(claims, want) {
			t.Fatalf("accepted %q with claims %+v, want %+v", raw, claims, want)
		}
	})
}
