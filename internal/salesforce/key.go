package salesforce

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
)

// ParsePrivateKey reads the integration user's private key, the one whose
// certificate is uploaded to the external client app: an unencrypted RSA
// key in PEM, PKCS #1 ("RSA PRIVATE KEY", what `openssl genrsa` wrote
// before OpenSSL 3) or PKCS #8 ("PRIVATE KEY", what it writes since), as
// Salesforce's guide makes it ("Create a Private Key and Self-Signed Digital
// Certificate", Salesforce DX Developer Guide:
// https://developer.salesforce.com/docs/atlas.en-us.sfdx_dev.meta/sfdx_dev/sfdx_dev_auth_key_and_cert.htm).
// Errors never hold the key.
func ParsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("not a PEM private key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not an RSA private key in PKCS #1 or PKCS #8 form")
	}
	rsaKey, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA private key")
	}
	return rsaKey, nil
}
