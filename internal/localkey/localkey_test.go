package localkey_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dcs-access/dcs-access/internal/localkey"
)

func TestTheKeyIsMadeOnceAndReusedAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "signing-key.pem")
	first, err := localkey.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Fatalf("got mode %o, want 600: the key is a secret", mode)
	}
	again, err := localkey.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Equal(again) {
		t.Fatal("got a different key after a restart, want the stored one")
	}
}

func TestAFileThatIsNotAP256KeyIsRefused(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"not PEM":       "hello",
		"a certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"a broken key":  "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := localkey.LoadOrCreate(path); err == nil {
				t.Fatal("got no error, want the file refused (and not overwritten)")
			}
			if got, _ := os.ReadFile(path); string(got) != content {
				t.Fatal("the file was overwritten")
			}
		})
	}
}
