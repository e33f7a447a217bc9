package apitoken_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/dcs-access/dcs-access/internal/apitoken"
)

func TestPublicJWKSHasEveryTrustedKeyByKid(t *testing.T) {
	a, b := newP256(t), newP256(t)
	// A key whose x starts with a zero byte: RFC 7518 section 6.2.1.2 wants
	// all 32 bytes, which an encoding of the big integer would cut to 31.
	var short *ecdsa.PrivateKey
	for short == nil {
		k := newP256(t)
		if point, err := k.PublicKey.Bytes(); err == nil && point[1] == 0 { // 0x04 || X || Y
			short = k
		}
	}
	trusted := map[string]*ecdsa.PublicKey{"key-b": &b.PublicKey, "key-a": &a.PublicKey, "key-c": &short.PublicKey}
	set, err := apitoken.PublicJWKS(trusted)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	// Read back by another JOSE library, which checks the members itself.
	var parsed jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &parsed); err != nil {
		t.Fatalf("go-jose cannot read %s: %v", raw, err)
	}
	if len(parsed.Keys) != 3 {
		t.Fatalf("got %d keys, want 3: %s", len(parsed.Keys), raw)
	}
	for i, kid := range []string{"key-a", "key-b", "key-c"} {
		k := parsed.Keys[i]
		pub, ok := k.Key.(*ecdsa.PublicKey)
		if k.KeyID != kid || !ok || !pub.Equal(trusted[kid]) || k.Algorithm != "ES256" || k.Use != "sig" || !k.IsPublic() {
			t.Errorf("key %d: got kid %q alg %q use %q public %v, want %s's public key, ES256, sig", i, k.KeyID, k.Algorithm, k.Use, k.IsPublic(), kid)
		}
		if x, y := set.Keys[i].X, set.Keys[i].Y; len(x) != 43 || len(y) != 43 {
			t.Errorf("key %s: x %q, y %q: want 43 base64url characters each (32 bytes)", kid, x, y)
		}
	}
	var members []map[string]any
	_ = json.Unmarshal([]byte(mustJSON(t, set.Keys)), &members)
	for _, m := range members {
		if _, private := m["d"]; private || len(m) != 7 {
			t.Errorf("got members %v, want exactly kty, crv, x, y, kid, alg, use", m)
		}
	}
}

func TestPublicJWKSRefusesAnotherCurve(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apitoken.PublicJWKS(map[string]*ecdsa.PublicKey{"p384": &k.PublicKey}); err == nil {
		t.Error("got no error for a P-384 key, want one: only ES256 (P-256) keys are trusted")
	}
}

func newP256(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
