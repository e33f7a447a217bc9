package lambdatest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/kmskey"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// joseSetup names what to install when the JOSE client is missing.
const joseSetup = `The JWKS test needs Node.js >= 20 and the npm package jose:
    (cd internal/lambdatest/josetest && npm ci)   # pinned in package-lock.json
make deps does it (scripts/deps.sh).`

// joseResult is what josetest/verify.mjs says of one token.
type joseResult struct {
	OK      bool           `json:"ok"`
	Kid     string         `json:"kid"`
	Payload map[string]any `json:"payload"`
	Code    string         `json:"code"`
}

// verifyWithJose has panva/jose, a JOSE library this project did not write,
// verify each token offline with the JWK Set jwks, as another service would.
func verifyWithJose(t *testing.T, jwks string, tokens ...string) []joseResult {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "internal", "lambdatest", "josetest")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "jose", "package.json")); err != nil {
		t.Fatalf("jose is missing.\n%s", joseSetup)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is missing.\n%s", joseSetup)
	}
	in, _ := json.Marshal(map[string]any{"jwks": json.RawMessage(jwks), "issuer": tokenIssuer, "tokens": tokens})
	cmd := exec.CommandContext(t.Context(), node, "verify.mjs")
	cmd.Dir, cmd.Stdin = dir, bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node verify.mjs: %v\n%s", err, stderr.String())
	}
	var results []joseResult
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(tokens) {
		t.Fatalf("verify.mjs answered %s (%v), want %d results", out, err, len(tokens))
	}
	return results
}

// TestJWKSDuringARotation runs PublicKeysFunction's bootstrap with the
// trusted keys of each step of a signing-key rotation (two KMS keys in
// moto, as the template's TRUSTED_KEY_IDS names them), and has jose verify
// tokens signed by each key, as the create function signs them, with the
// JWK Set it publishes.
func TestJWKSDuringARotation(t *testing.T) {
	s := newStack(t)
	keyA, keyB := s.keyARN, createSigningKey(t, s.kms)
	mint := func(keyARN, id string) string {
		t.Helper()
		raw, err := apitoken.Minter{Issuer: tokenIssuer, Signer: kmskey.NewSigner(testenv.Moto(t, kmskey.Service), keyARN)}.Mint(t.Context(), apitoken.Grant{
			ID: id, User: "ada@example.com", Tenant: "acme", IssuedAt: time.Now(),
		})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	byA, byB := mint(keyA, "signed-by-a"), mint(keyB, "signed-by-b")
	dot := strings.LastIndexByte(byA, '.')
	// One signature character changed to another (base64url still).
	tampered := byA[:dot+1] + map[bool]string{true: "B", false: "A"}[byA[dot+1] == 'A'] + byA[dot+2:]

	jwks := func(trusted string) string {
		t.Helper()
		env := s.env(t, "PublicKeysFunction")
		env["TRUSTED_KEY_IDS"] = trusted
		s.fns["PublicKeysFunction"] = s.start(t, "PublicKeysFunction", env)
		resp := s.call(t, "PublicKeysFunction", readEvent(t, "public-keys.json"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("TRUSTED_KEY_IDS=%s: got %d %s", trusted, resp.StatusCode, resp.Body)
		}
		return resp.Body
	}
	kids := func(set string) []string {
		var s apitoken.JWKSet
		if err := json.Unmarshal([]byte(set), &s); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range s.Keys {
			out = append(out, k.KeyID)
		}
		return out
	}

	t.Run("while both keys are trusted, the JWKS has both and each key's tokens verify", func(t *testing.T) {
		set := jwks(keyA + "," + keyB)
		want := []string{kmskey.KeyID(keyA), kmskey.KeyID(keyB)}
		if got := kids(set); len(got) != 2 || !(got[0] == want[0] && got[1] == want[1] || got[0] == want[1] && got[1] == want[0]) {
			t.Fatalf("got kids %v, want %v", got, want)
		}
		results := verifyWithJose(t, set, byA, byB, tampered)
		for i, r := range results[:2] {
			if !r.OK || r.Kid != want[i] || r.Payload["jti"] != []string{"signed-by-a", "signed-by-b"}[i] || r.Payload["tenant"] != "acme" {
				t.Errorf("token %d: got %+v, want verified by kid %s", i, r, want[i])
			}
		}
		if results[2].OK || results[2].Code != "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" {
			t.Errorf("a tampered token: got %+v, want ERR_JWS_SIGNATURE_VERIFICATION_FAILED", results[2])
		}
	})
	t.Run("once the old key is no longer trusted, the JWKS has the new key only and the old key's tokens fail", func(t *testing.T) {
		set := jwks(keyB)
		if got := kids(set); len(got) != 1 || got[0] != kmskey.KeyID(keyB) {
			t.Fatalf("got kids %v, want [%s]", got, kmskey.KeyID(keyB))
		}
		results := verifyWithJose(t, set, byA, byB)
		if results[0].OK || results[0].Code != "ERR_JWKS_NO_MATCHING_KEY" {
			t.Errorf("a token of the untrusted key: got %+v, want ERR_JWKS_NO_MATCHING_KEY", results[0])
		}
		if !results[1].OK {
			t.Errorf("a token of the trusted key: got %+v, want verified", results[1])
		}
	})
}
