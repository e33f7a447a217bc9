package testenv

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// PrivateKeyFile writes key as an unencrypted PKCS #8 PEM file (what
// `openssl genpkey` writes, and what Salesforce's and our own tooling read)
// named name in the test's temporary directory, readable only by its owner,
// and returns its path.
func PrivateKeyFile(t testing.TB, key crypto.PrivateKey, name string) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
