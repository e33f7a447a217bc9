package apitoken

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// The Wycheproof vectors (testdata/wycheproof/README.md says where they come
// from) give each signature a result:
//
//   - valid: must be accepted.
//   - invalid: must be refused.
//   - acceptable: a legacy or borderline form that a library may accept. We
//     accept exactly one form of each signature, so for us acceptable means
//     refused. (These two files have none today; a newer copy might.)
//
// One exception, by design: Wycheproof marks high-S signatures valid, as
// plain ECDSA is; our verifier refuses them so that a token has one
// spelling. The P1363 test says so where it applies.

type wycheproofFile struct {
	Algorithm     string `json:"algorithm"`
	NumberOfTests int    `json:"numberOfTests"`
	TestGroups    []struct {
		PublicKey struct {
			Curve        string `json:"curve"`
			Uncompressed string `json:"uncompressed"`
		} `json:"publicKey"`
		SHA   string `json:"sha"`
		Tests []wycheproofVector
	} `json:"testGroups"`
}

type wycheproofVector struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Msg     string   `json:"msg"`
	Sig     string   `json:"sig"`
	Result  string   `json:"result"`
}

// wycheproofCase is one vector with its group's public key, decoded.
type wycheproofCase struct {
	wycheproofVector
	pub      *ecdsa.PublicKey
	msg, sig []byte
}

func loadWycheproof(t *testing.T, name string) []wycheproofCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "wycheproof", name))
	if err != nil {
		t.Fatal(err)
	}
	var f wycheproofFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var cases []wycheproofCase
	for _, g := range f.TestGroups {
		if g.PublicKey.Curve != "secp256r1" || g.SHA != "SHA-256" {
			t.Fatalf("%s: got a group for %s with %s, want secp256r1 with SHA-256", name, g.PublicKey.Curve, g.SHA)
		}
		point, err := hex.DecodeString(g.PublicKey.Uncompressed)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			t.Fatalf("%s: public key %s: %v", name, g.PublicKey.Uncompressed, err)
		}
		for _, v := range g.Tests {
			c := wycheproofCase{wycheproofVector: v, pub: pub}
			if c.msg, err = hex.DecodeString(v.Msg); err != nil {
				t.Fatal(err)
			}
			if c.sig, err = hex.DecodeString(v.Sig); err != nil {
				t.Fatal(err)
			}
			cases = append(cases, c)
		}
	}
	if len(cases) != f.NumberOfTests || len(cases) == 0 {
		t.Fatalf("%s: read %d vectors, the file says %d", name, len(cases), f.NumberOfTests)
	}
	return cases
}

// verifierAccepts makes the verifier's two signature checks on a JOSE R||S
// signature of msg: its own form check (64 bytes, low S), then golang-jwt's
// ES256 verification, the one Verify runs through jwt.Parser.
func verifierAccepts(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	return checkLowS(sig) == nil && jwt.SigningMethodES256.Verify(string(msg), sig, pub) == nil
}

// TestWycheproofDERSignaturesThroughTheMinter runs the DER vectors through
// the minting path: the DER→JOSE conversion that every Signer's (KMS's)
// answer goes through, then the verifier's checks. A valid high-S DER
// signature is accepted here: the conversion normalises it to low S, which is
// what lets the minter take whichever form KMS returns.
func TestWycheproofDERSignaturesThroughTheMinter(t *testing.T) {
	for _, c := range loadWycheproof(t, "ecdsa_secp256r1_sha256_test.json") {
		jose, convErr := joseSignature(c.sig)
		accepted := convErr == nil && verifierAccepts(c.pub, c.msg, jose)
		if want := c.Result == "valid"; accepted != want {
			t.Errorf("tcId %d (%s, %v, %s): got accepted %v (conversion error %v), want %v",
				c.TcID, c.Result, c.Flags, c.Comment, accepted, convErr, want)
		}
	}
}

// TestWycheproofP1363SignaturesThroughTheVerifier runs the P1363 vectors, the
// JOSE R||S form a token carries, through the verifier's checks.
func TestWycheproofP1363SignaturesThroughTheVerifier(t *testing.T) {
	highS := 0
	for _, c := range loadWycheproof(t, "ecdsa_secp256r1_sha256_p1363_test.json") {
		want := c.Result == "valid"
		if want && len(c.sig) == signatureSize && !isLowS(c.sig) {
			// Valid ECDSA, but the high-S twin of a low-S signature: refused
			// by our design (one spelling per token), not by Wycheproof's.
			want = false
			highS++
		}
		if got := verifierAccepts(c.pub, c.msg, c.sig); got != want {
			t.Errorf("tcId %d (%s, %v, %s): got accepted %v, want %v", c.TcID, c.Result, c.Flags, c.Comment, got, want)
		}
	}
	t.Logf("%d valid high-S vectors refused by design", highS)
}
