package apitoken

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

const testIssuer = "https://dcs-access.example.com"

// t0 is the verifier's clock in every test.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return t0 }

func newKey(t testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func newSigner(t testing.TB) *KeySigner {
	t.Helper()
	s, err := NewKeySigner(newKey(t, elliptic.P256()))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifierFor(signers ...*KeySigner) *Verifier {
	keys := map[string]*ecdsa.PublicKey{}
	for _, s := range signers {
		keys[s.KeyID()] = s.Public()
	}
	return NewVerifier(testIssuer, keys, fixedClock)
}

func grant() Grant {
	return Grant{ID: "tok-1", User: "ada@example.com", Tenant: "acme", IssuedAt: t0.Add(-time.Hour)}
}

func mint(t testing.TB, s Signer, g Grant) string {
	t.Helper()
	raw, err := Minter{Issuer: testIssuer, Signer: s}.Mint(context.Background(), g)
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return raw
}

// segment returns the base64url-decoded segment i of a compact JWS.
func segment(t testing.TB, raw string, i int) []byte {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("got %d segments in %q, want 3", len(parts), raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("segment %d: %v", i, err)
	}
	return b
}

func jsonSegment(t testing.TB, raw string, i int) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(segment(t, raw, i), &m); err != nil {
		t.Fatalf("segment %d: %v", i, err)
	}
	return m
}

// validClaims are the claims of a well-formed API token; tests override them.
func validClaims(overrides map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss":        testIssuer,
		"sub":        "ada@example.com",
		"jti":        "tok-1",
		"tenant":     "acme",
		"token_type": TypeValue,
		"iat":        t0.Add(-time.Hour).Unix(),
	}
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// forge signs claims with any golang-jwt method and key; header entries that
// are nil are removed. An ES256 signature is given in its low-S form, so that
// a forged token is refused for what the test changed, never for a high S.
func forge(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
			continue
		}
		tok.Header[k] = v
	}
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("forge: %v", err)
	}
	if sig := segment(t, raw, 2); method == jwt.SigningMethodES256 && !isLowS(sig) {
		raw = replaceSegment(raw, 2, base64.RawURLEncoding.EncodeToString(mirrorS(sig)))
	}
	return raw
}

// encode builds a compact JWS from JSON-encodable parts and a raw signature.
func encode(t testing.TB, header, claims any, sig []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "." + enc(sig)
}

// replaceSegment swaps segment i of raw for seg, unencoded.
func replaceSegment(raw string, i int, seg string) string {
	parts := strings.Split(raw, ".")
	parts[i] = seg
	return strings.Join(parts, ".")
}

func flipSignatureByte(t testing.TB, raw string, at int) string {
	t.Helper()
	sig := segment(t, raw, 2)
	sig[at] ^= 0x01
	return replaceSegment(raw, 2, base64.RawURLEncoding.EncodeToString(sig))
}

// fakeSigner is a Signer whose behaviour each test chooses.
type fakeSigner struct {
	KeyIDFunc      func() string
	SignDigestFunc func(ctx context.Context, digest []byte) ([]byte, error)
}

func (f fakeSigner) KeyID() string { return f.KeyIDFunc() }
func (f fakeSigner) SignDigest(ctx context.Context, digest []byte) ([]byte, error) {
	return f.SignDigestFunc(ctx, digest)
}

func derSignature(t testing.TB, r, s *big.Int) []byte {
	t.Helper()
	der, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestMintedTokensVerifyWithTheirClaims(t *testing.T) {
	signer := newSigner(t)
	v := verifierFor(signer)
	expiry := t0.Add(24 * time.Hour)
	tests := []struct {
		name      string
		grant     Grant
		wantExp   bool
		wantScope string // "": no scope claim
	}{
		{name: "a token that never expires has no exp claim", grant: grant()},
		{name: "a token with a lifespan carries exp", grant: func() Grant { g := grant(); g.ExpiresAt = &expiry; return g }(), wantExp: true},
		{name: "a token with scopes carries them space-separated in scope",
			grant: func() Grant { g := grant(); g.Scopes = []string{"tokens:read", "sandbox-refreshes:run"}; return g }(), wantScope: "tokens:read sandbox-refreshes:run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := mint(t, signer, tt.grant)

			header := jsonSegment(t, raw, 0)
			wantHeader := map[string]any{"alg": "ES256", "typ": "JWT", "kid": signer.KeyID()}
			if !reflect.DeepEqual(header, wantHeader) {
				t.Errorf("got header %v, want %v", header, wantHeader)
			}
			payload := jsonSegment(t, raw, 1)
			if _, got := payload["exp"]; got != tt.wantExp {
				t.Errorf("got exp present %v, want %v (payload %v)", got, tt.wantExp, payload)
			}
			if got, _ := payload["scope"].(string); got != tt.wantScope || (tt.wantScope == "") == (payload["scope"] != nil) {
				t.Errorf("got scope claim %v, want %q (payload %v)", payload["scope"], tt.wantScope, payload)
			}
			if got := len(segment(t, raw, 2)); got != 64 {
				t.Errorf("got a %d-byte signature, want 64 (R||S)", got)
			}

			claims, err := v.Verify(raw)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			got := map[string]any{
				"iss": claims.Issuer, "sub": claims.Subject, "jti": claims.ID, "tenant": claims.Tenant,
				"token_type": claims.TokenType, "iat": claims.IssuedAt.UTC(), "exp": claims.ExpiresAt != nil,
			}
			want := map[string]any{
				"iss": testIssuer, "sub": "ada@example.com", "jti": "tok-1", "tenant": "acme",
				"token_type": TypeValue, "iat": t0.Add(-time.Hour), "exp": tt.wantExp,
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got claims %v, want %v", got, want)
			}
			if got := claims.Scope; (got == nil) != (tt.wantScope == "") || (got != nil && *got != tt.wantScope) {
				t.Errorf("got verified scope %v, want %q", got, tt.wantScope)
			}
			if tt.wantExp && !claims.ExpiresAt.Time.Equal(expiry) {
				t.Errorf("got exp %v, want %v", claims.ExpiresAt.Time, expiry)
			}
		})
	}
}

func TestMintedSignaturesAreAlwaysFixedSizeAndVerify(t *testing.T) {
	// About one signature in 128 has an R or S shorter than 32 bytes; a few
	// hundred mints exercise the padding with a real key.
	signer := newSigner(t)
	v := verifierFor(signer)
	for i := range 300 {
		raw := mint(t, signer, grant())
		if got := len(segment(t, raw, 2)); got != 64 {
			t.Fatalf("mint %d: got a %d-byte signature, want 64", i, got)
		}
		if _, err := v.Verify(raw); err != nil {
			t.Fatalf("mint %d: verify: %v", i, err)
		}
	}
}

func TestMintPadsShortRAndSWithLeadingZeros(t *testing.T) {
	tests := []struct {
		name string
		r, s *big.Int
	}{
		{name: "a one-byte R is right-aligned in the first half", r: big.NewInt(1), s: new(big.Int).Lsh(big.NewInt(1), 254)},
		{name: "a one-byte S is right-aligned in the second half", r: new(big.Int).Lsh(big.NewInt(1), 255), s: big.NewInt(7)},
		{name: "a 31-byte R and S are padded by one zero byte", r: new(big.Int).Lsh(big.NewInt(0xab), 240), s: new(big.Int).Lsh(big.NewInt(0xcd), 240)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der := derSignature(t, tt.r, tt.s)
			signer := fakeSigner{
				KeyIDFunc:      func() string { return "kid-1" },
				SignDigestFunc: func(context.Context, []byte) ([]byte, error) { return der, nil },
			}
			got := segment(t, mint(t, signer, grant()), 2)
			want := make([]byte, 64)
			tt.r.FillBytes(want[:32])
			tt.s.FillBytes(want[32:])
			if !bytes.Equal(got, want) {
				t.Errorf("got signature %x, want %x", got, want)
			}
		})
	}
}

func TestMintSignsTheSHA256OfTheSigningInput(t *testing.T) {
	var digest []byte
	key := newKey(t, elliptic.P256())
	signer := fakeSigner{
		KeyIDFunc: func() string { return "kid-1" },
		SignDigestFunc: func(_ context.Context, d []byte) ([]byte, error) {
			digest = d
			return ecdsa.SignASN1(rand.Reader, key, d)
		},
	}
	raw := mint(t, signer, grant())
	want := sha256.Sum256([]byte(raw[:strings.LastIndexByte(raw, '.')]))
	if !bytes.Equal(digest, want[:]) {
		t.Errorf("got digest %x, want %x", digest, want)
	}
}

func TestMintRefusesScopesThatAreNotAScopeClaim(t *testing.T) {
	signer := newSigner(t)
	for _, scopes := range [][]string{{""}, {"tokens:read", ""}, {"tokens read"}, {`tokens:"read"`}} {
		g := grant()
		g.Scopes = scopes
		if raw, err := (Minter{Issuer: testIssuer, Signer: signer}).Mint(context.Background(), g); err == nil || raw != "" {
			t.Errorf("scopes %q: got (%q, %v), want no token and an error", scopes, raw, err)
		}
	}
}

func TestMintFailsWhenTheSignerFails(t *testing.T) {
	boom := errors.New("kms: throttled")
	tests := []struct {
		name string
		sign func(context.Context, []byte) ([]byte, error)
		want func(error) bool
	}{
		{
			name: "a signer error is returned wrapped",
			sign: func(context.Context, []byte) ([]byte, error) { return nil, boom },
			want: func(err error) bool { return errors.Is(err, boom) },
		},
		{
			name: "a malformed DER signature is an error, not a token",
			sign: func(context.Context, []byte) ([]byte, error) { return []byte{0x30, 0x01}, nil },
			want: func(err error) bool { return err != nil },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer := fakeSigner{KeyIDFunc: func() string { return "kid-1" }, SignDigestFunc: tt.sign}
			raw, err := Minter{Issuer: testIssuer, Signer: signer}.Mint(context.Background(), grant())
			if !tt.want(err) || raw != "" {
				t.Errorf("got (%q, %v), want no token and a matching error", raw, err)
			}
		})
	}
}

func TestJoseSignature(t *testing.T) {
	key := newKey(t, elliptic.P256())
	digest := sha256.Sum256([]byte("payload"))
	realDER, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	one := big.NewInt(1)
	nMinus1 := new(big.Int).Sub(p256N, one)
	halfN := new(big.Int).Rsh(p256N, 1)
	fill := func(r, s *big.Int) []byte {
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
	tests := []struct {
		name    string
		der     []byte
		want    []byte // nil: any 64 bytes that verify with key
		wantErr bool
	}{
		{name: "a real signature converts to 64 bytes that verify", der: realDER},
		{name: "R and S of one byte are padded to 32 bytes each", der: derSignature(t, one, big.NewInt(2)), want: append(append(make([]byte, 31), 1), append(make([]byte, 31), 2)...)},
		{name: "the largest R and the largest low S fill their halves", der: derSignature(t, nMinus1, halfN), want: fill(nMinus1, halfN)},
		{name: "a high S is replaced by n−S", der: derSignature(t, one, nMinus1), want: fill(one, one)},
		{name: "S just above n/2 becomes S just below it", der: derSignature(t, one, new(big.Int).Add(halfN, one)), want: fill(one, halfN)},
		{name: "an R of n is rejected", der: derSignature(t, p256N, one), wantErr: true},
		{name: "an S of n is rejected", der: derSignature(t, one, p256N), wantErr: true},
		{name: "an R of 256 bits above n is rejected", der: derSignature(t, new(big.Int).Sub(new(big.Int).Lsh(one, 256), one), one), wantErr: true},
		{name: "empty input is rejected", der: nil, wantErr: true},
		{name: "garbage is rejected", der: []byte("not a signature"), wantErr: true},
		{name: "a truncated sequence is rejected", der: realDER[:len(realDER)-1], wantErr: true},
		{name: "trailing bytes after the sequence are rejected", der: append(append([]byte{}, realDER...), 0), wantErr: true},
		{name: "a sequence with one integer is rejected", der: mustMarshal(t, struct{ R *big.Int }{one}), wantErr: true},
		{name: "a third integer inside the sequence is rejected", der: mustMarshal(t, struct{ R, S, X *big.Int }{one, one, one}), wantErr: true},
		{name: "a null after S inside the sequence is rejected", der: []byte{0x30, 0x08, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x05, 0x00}, wantErr: true},
		{name: "a long-form sequence length is rejected", der: []byte{0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, wantErr: true},
		{name: "a zero R is rejected", der: derSignature(t, big.NewInt(0), one), wantErr: true},
		{name: "a zero S is rejected", der: derSignature(t, one, big.NewInt(0)), wantErr: true},
		{name: "a negative R is rejected", der: derSignature(t, big.NewInt(-1), one), wantErr: true},
		{name: "a negative S is rejected", der: derSignature(t, one, big.NewInt(-5)), wantErr: true},
		{name: "an R of 257 bits is rejected", der: derSignature(t, new(big.Int).Lsh(one, 256), one), wantErr: true},
		{name: "an S of 384 bits is rejected", der: derSignature(t, one, new(big.Int).Lsh(one, 383)), wantErr: true},
		{name: "a non-minimal integer encoding is rejected", der: []byte{0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01}, wantErr: true},
		{name: "an integer tagged as an octet string is rejected", der: []byte{0x30, 0x06, 0x04, 0x01, 0x01, 0x02, 0x01, 0x01}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := joseSignature(tt.der)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %x and no error, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if len(got) != 64 {
				t.Fatalf("got %d bytes, want 64", len(got))
			}
			if tt.want != nil {
				if !bytes.Equal(got, tt.want) {
					t.Errorf("got %x, want %x", got, tt.want)
				}
				return
			}
			r, s := new(big.Int).SetBytes(got[:32]), new(big.Int).SetBytes(got[32:])
			if !ecdsa.Verify(&key.PublicKey, digest[:], r, s) {
				t.Errorf("got R||S %x that does not verify", got)
			}
			if !isLowS(got) {
				t.Errorf("got R||S %x with a high S", got)
			}
		})
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyRejects(t *testing.T) {
	signer := newSigner(t)
	kid := signer.KeyID()
	v := verifierFor(signer)
	valid := mint(t, signer, grant())
	es256 := func(overrides map[string]any) string {
		return forge(t, jwt.SigningMethodES256, signer.key, map[string]any{"kid": kid}, validClaims(overrides))
	}
	withHeader := func(header map[string]any) string {
		header["kid"] = kid
		return forge(t, jwt.SigningMethodES256, signer.key, header, validClaims(nil))
	}
	future := t0.Add(time.Hour).Unix()
	past := t0.Add(-time.Hour).Unix()

	pkix, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	ecdhPub, err := signer.Public().ECDH()
	if err != nil {
		t.Fatal(err)
	}
	p384 := newKey(t, elliptic.P384())
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other := newKey(t, elliptic.P256())
	otherPub, err := other.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	embeddedJWK := map[string]any{"kty": "EC", "crv": "P-256", "x": enc(otherPub.Bytes()[1:33]), "y": enc(otherPub.Bytes()[33:])}
	derSig, err := ecdsa.SignASN1(rand.Reader, signer.key, func() []byte {
		d := sha256.Sum256([]byte(valid[:strings.LastIndexByte(valid, '.')]))
		return d[:]
	}())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		raw  string
	}{
		{name: "a signature with its first byte flipped", raw: flipSignatureByte(t, valid, 0)},
		{name: "a signature with a byte of S flipped", raw: flipSignatureByte(t, valid, 40)},
		{name: "a signature of all zeros", raw: replaceSegment(valid, 2, enc(make([]byte, 64)))},
		{name: "a signature cut to 63 bytes", raw: replaceSegment(valid, 2, enc(segment(t, valid, 2)[:63]))},
		{name: "an empty signature", raw: replaceSegment(valid, 2, "")},
		{name: "a signature in DER form instead of R||S", raw: replaceSegment(valid, 2, enc(derSig))},
		{name: "alg none with no signature", raw: forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": kid}, validClaims(nil))},
		{name: "alg none keeping a valid signature", raw: encode(t, map[string]any{"alg": "none", "kid": kid}, validClaims(nil), segment(t, valid, 2))},
		{name: "alg None in another case", raw: encode(t, map[string]any{"alg": "None", "kid": kid}, validClaims(nil), nil)},
		{name: "no alg header", raw: encode(t, map[string]any{"kid": kid}, validClaims(nil), segment(t, valid, 2))},
		{name: "alg es256 in lower case", raw: forge(t, jwt.SigningMethodES256, signer.key, map[string]any{"kid": kid, "alg": "es256"}, validClaims(nil))},
		{name: "HS256 keyed with the PEM public key", raw: forge(t, jwt.SigningMethodHS256, pubPEM, map[string]any{"kid": kid}, validClaims(nil))},
		{name: "HS256 keyed with the DER public key", raw: forge(t, jwt.SigningMethodHS256, pkix, map[string]any{"kid": kid}, validClaims(nil))},
		{name: "HS256 keyed with the uncompressed public point", raw: forge(t, jwt.SigningMethodHS256, ecdhPub.Bytes(), map[string]any{"kid": kid}, validClaims(nil))},
		{name: "HS256 keyed with the key id", raw: forge(t, jwt.SigningMethodHS256, []byte(kid), map[string]any{"kid": kid}, validClaims(nil))},
		{name: "ES384 by a P-384 key under a trusted kid", raw: forge(t, jwt.SigningMethodES384, p384, map[string]any{"kid": kid}, validClaims(nil))},
		{name: "RS256 under a trusted kid", raw: forge(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": kid}, validClaims(nil))},
		{name: "PS256 under a trusted kid", raw: forge(t, jwt.SigningMethodPS256, rsaKey, map[string]any{"kid": kid}, validClaims(nil))},
		{name: "an unknown kid", raw: forge(t, jwt.SigningMethodES256, signer.key, map[string]any{"kid": "not-a-trusted-key"}, validClaims(nil))},
		{name: "no kid", raw: forge(t, jwt.SigningMethodES256, signer.key, map[string]any{"kid": nil}, validClaims(nil))},
		{name: "an empty kid", raw: forge(t, jwt.SigningMethodES256, signer.key, map[string]any{"kid": ""}, validClaims(nil))},
		{name: "a kid that is not a string", raw: forge(t, jwt.SigningMethodES256, signer.key, map[string]any{"kid": 1}, validClaims(nil))},
		{name: "a different P-256 key under the trusted kid", raw: forge(t, jwt.SigningMethodES256, other, map[string]any{"kid": kid}, validClaims(nil))},
		{name: "a different key that embeds itself as a jwk header", raw: forge(t, jwt.SigningMethodES256, other, map[string]any{"kid": kid, "jwk": embeddedJWK}, validClaims(nil))},
		{name: "a wrong iss", raw: es256(map[string]any{"iss": "https://evil.example.com"})},
		{name: "no iss", raw: es256(map[string]any{"iss": nil})},
		{name: "an iss that differs only by a trailing slash", raw: es256(map[string]any{"iss": testIssuer + "/"})},
		{name: "an exp past beyond the leeway", raw: es256(map[string]any{"exp": t0.Add(-31 * time.Second).Unix()})},
		{name: "an exp long past", raw: es256(map[string]any{"exp": t0.Add(-24 * time.Hour).Unix()})},
		{name: "an exp that is not a number", raw: es256(map[string]any{"exp": "never"})},
		{name: "an iat in the future beyond the leeway", raw: es256(map[string]any{"iat": t0.Add(31 * time.Second).Unix()})},
		{name: "an iat far in the future", raw: es256(map[string]any{"iat": t0.Add(365 * 24 * time.Hour).Unix()})},
		{name: "no iat", raw: es256(map[string]any{"iat": nil})},
		{name: "an nbf in the future beyond the leeway", raw: es256(map[string]any{"nbf": t0.Add(time.Hour).Unix()})},
		{name: "an exp that is a string holding a number", raw: es256(map[string]any{"exp": fmt.Sprint(future)})},
		{name: "an iat that is a string holding a number", raw: es256(map[string]any{"iat": fmt.Sprint(past)})},
		{name: "an nbf that is a string holding a number", raw: es256(map[string]any{"nbf": fmt.Sprint(past)})},
		{name: "an exp spelled Exp, a string holding a number", raw: es256(map[string]any{"Exp": fmt.Sprint(future)})},
		{name: "an exp of null", raw: es256(map[string]any{"exp": json.RawMessage("null")})},
		{name: "an nbf of null", raw: es256(map[string]any{"nbf": json.RawMessage("null")})},
		{name: "an iat that is an object", raw: es256(map[string]any{"iat": map[string]any{"n": past}})},
		{name: "a crit header naming a registered header", raw: withHeader(map[string]any{"crit": []string{"exp"}, "exp": future})},
		{name: "a crit header naming an extension", raw: withHeader(map[string]any{"crit": []string{"b64"}, "b64": false})},
		{name: "an empty crit header", raw: withHeader(map[string]any{"crit": []string{}})},
		{name: "a crit header that is not a list", raw: withHeader(map[string]any{"crit": "b64"})},
		{name: "a crit header of null", raw: withHeader(map[string]any{"crit": json.RawMessage("null")})},
		{name: "no typ header", raw: withHeader(map[string]any{"typ": nil})},
		{name: "a typ header of another type", raw: withHeader(map[string]any{"typ": "at+jwt"})},
		{name: "a typ header in lower case", raw: withHeader(map[string]any{"typ": "jwt"})},
		{name: "a typ header as a media type", raw: withHeader(map[string]any{"typ": "application/jwt"})},
		{name: "a typ header that is not a string", raw: withHeader(map[string]any{"typ": 1})},
		{name: "no token_type", raw: es256(map[string]any{"token_type": nil})},
		{name: "token_type session", raw: es256(map[string]any{"token_type": "session"})},
		{name: "token_type in another case", raw: es256(map[string]any{"token_type": "API_TOKEN"})},
		{name: "token_type that is not a string", raw: es256(map[string]any{"token_type": true})},
		{name: "no jti", raw: es256(map[string]any{"jti": nil})},
		{name: "an empty jti", raw: es256(map[string]any{"jti": ""})},
		{name: "no sub", raw: es256(map[string]any{"sub": nil})},
		{name: "no tenant", raw: es256(map[string]any{"tenant": nil})},
		{name: "a tenant that is not a string", raw: es256(map[string]any{"tenant": []string{"acme", "globex"}})},
		{name: "an empty scope", raw: es256(map[string]any{"scope": ""})},
		{name: "a scope of null, which would read as no scope claim", raw: es256(map[string]any{"scope": json.RawMessage("null")})},
		{name: "a scope that is a list", raw: es256(map[string]any{"scope": []string{"tokens:read"}})},
		{name: "a scope spelled Scope that is not a string", raw: es256(map[string]any{"Scope": true})},
		{name: "a scope with two spaces between scopes", raw: es256(map[string]any{"scope": "tokens:read  tokens:write"})},
		{name: "a scope ending in a space", raw: es256(map[string]any{"scope": "tokens:read "})},
		{name: "a scope separated by a line feed", raw: es256(map[string]any{"scope": "tokens:read\ntokens:write"})},
		{name: "a scope with a double quote", raw: es256(map[string]any{"scope": `tokens:"read"`})},
		{name: "a scope with a backslash", raw: es256(map[string]any{"scope": `tokens\\read`})},
		{name: "a scope with a non-ASCII character", raw: es256(map[string]any{"scope": "tökens:read"})},
		{name: "an invalid base64 character in the header", raw: replaceSegment(valid, 0, "!"+strings.Split(valid, ".")[0][1:])},
		{name: "an invalid base64 character in the payload", raw: replaceSegment(valid, 1, strings.Split(valid, ".")[1][1:]+"*")},
		{name: "an invalid base64 character in the signature", raw: replaceSegment(valid, 2, "$"+strings.Split(valid, ".")[2][1:])},
		{name: "a line feed inside the signature", raw: valid[:len(valid)-10] + "\n" + valid[len(valid)-10:]},
		{name: "a carriage return and line feed inside the signature", raw: valid[:len(valid)-10] + "\r\n" + valid[len(valid)-10:]},
		{name: "a line feed ending the token", raw: valid + "\n"},
		{name: "standard base64 characters in the signature", raw: replaceSegment(valid, 2, strings.NewReplacer("-", "+", "_", "/").Replace(strings.Split(valid, ".")[2])+"+/")},
		{name: "a header that is not JSON", raw: replaceSegment(valid, 0, enc([]byte("not json")))},
		{name: "a payload that is not JSON", raw: replaceSegment(valid, 1, enc([]byte("[1,2,3]")))},
		{name: "a payload swapped in from another token", raw: replaceSegment(valid, 1, strings.Split(es256(map[string]any{"tenant": "globex"}), ".")[1])},
		{name: "four segments", raw: valid + "." + strings.Split(valid, ".")[2]},
		{name: "two segments", raw: valid[:strings.LastIndexByte(valid, '.')]},
		{name: "the empty string", raw: ""},
		{name: "only dots", raw: ".."},
		{name: "10,000 dots", raw: strings.Repeat(".", 10000)},
		{name: "surrounding white space", raw: " " + valid + " "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := v.Verify(tt.raw)
			if !errors.Is(err, ErrInvalid) || claims != nil {
				t.Fatalf("got (%+v, %v), want (nil, an error wrapping ErrInvalid)", claims, err)
			}
		})
	}
}

// TestGolangJWTNumericDatesTakeAStringOrNull records why Claims checks the
// type of exp, iat and nbf itself: golang-jwt v5's NumericDate reads a JSON
// string that holds a number as that number, and null as no date. If an
// upgrade makes this fail, golang-jwt became strict; Claims' check can stay.
func TestGolangJWTNumericDatesTakeAStringOrNull(t *testing.T) {
	var c jwt.RegisteredClaims
	err := json.Unmarshal([]byte(`{"exp":"1700000000","iat":"1.6e9","nbf":null}`), &c)
	if err != nil || c.ExpiresAt == nil || c.ExpiresAt.Unix() != 1700000000 || c.IssuedAt == nil || c.IssuedAt.Unix() != 1600000000 || c.NotBefore != nil {
		t.Fatalf("got %+v, %v; want exp 1700000000, iat 1600000000 and no nbf", c, err)
	}
}

func TestVerifyAccepts(t *testing.T) {
	signer := newSigner(t)
	v := verifierFor(signer)
	es256 := func(overrides map[string]any) string {
		return forge(t, jwt.SigningMethodES256, signer.key, map[string]any{"kid": signer.KeyID()}, validClaims(overrides))
	}
	tests := []struct {
		name string
		raw  string
	}{
		{name: "a minted token", raw: mint(t, signer, grant())},
		{name: "an exp in the future", raw: es256(map[string]any{"exp": t0.Add(time.Minute).Unix()})},
		{name: "an exp passed by less than the 30 s leeway", raw: es256(map[string]any{"exp": t0.Add(-29 * time.Second).Unix()})},
		{name: "an iat ahead by less than the 30 s leeway", raw: es256(map[string]any{"iat": t0.Add(29 * time.Second).Unix()})},
		{name: "extra claims it does not know", raw: es256(map[string]any{"scope": "everything"})},
		{name: "an exp that is a number with a fraction", raw: es256(map[string]any{"exp": float64(t0.Add(time.Minute).Unix()) + 0.5})},
		{name: "a claim whose name only contains exp, holding a string", raw: es256(map[string]any{"expiry_note": "never"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := v.Verify(tt.raw)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if claims.ID != "tok-1" || claims.Tenant != "acme" || claims.Subject != "ada@example.com" {
				t.Errorf("got claims %+v, want jti tok-1, tenant acme, sub ada@example.com", claims)
			}
		})
	}
}

func TestVerifierTrustsEveryConfiguredKey(t *testing.T) {
	oldKey, newKey := newSigner(t), newSigner(t)
	rotated := verifierFor(oldKey, newKey)
	onlyNew := verifierFor(newKey)
	tests := []struct {
		name   string
		v      *Verifier
		signer *KeySigner
		ok     bool
	}{
		{name: "a verifier trusting both keys accepts the old key's token", v: rotated, signer: oldKey, ok: true},
		{name: "a verifier trusting both keys accepts the new key's token", v: rotated, signer: newKey, ok: true},
		{name: "a verifier that dropped the old key rejects its token", v: onlyNew, signer: oldKey, ok: false},
		{name: "a verifier that dropped the old key accepts the new key's token", v: onlyNew, signer: newKey, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.v.Verify(mint(t, tt.signer, grant()))
			if got := err == nil; got != tt.ok {
				t.Errorf("got accepted %v (error %v), want %v", got, err, tt.ok)
			}
		})
	}
}

func TestKeySignerRejectsKeysThatAreNotP256(t *testing.T) {
	for _, curve := range []elliptic.Curve{elliptic.P224(), elliptic.P384(), elliptic.P521()} {
		t.Run("a "+curve.Params().Name+" key is refused", func(t *testing.T) {
			if _, err := NewKeySigner(newKey(t, curve)); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
}

func TestThumbprintMatchesRFC7638(t *testing.T) {
	// go-jose implements RFC 7638 independently of Thumbprint.
	for i := range 20 {
		pub := &newKey(t, elliptic.P256()).PublicKey
		got, err := Thumbprint(pub)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if want := base64.RawURLEncoding.EncodeToString(sum); got != want {
			t.Fatalf("key %d: got %s, want %s", i, got, want)
		}
	}
}
