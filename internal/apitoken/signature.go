package apitoken

import (
	"bytes"
	"crypto/elliptic"
	"encoding/asn1"
	"errors"
	"math/big"
)

// ECDSA signatures are malleable: if (R, S) verifies, so does (R, n−S). A
// token must have exactly one spelling, so this package mints and accepts only
// the low-S form (S ≤ n/2), the rule Bitcoin (BIP 62/146) and Ethereum
// (EIP-2) adopted for the same reason. KMS, like crypto/ecdsa, returns either
// form: the minter normalises, the verifier rejects the high form.

var (
	p256Order     = elliptic.P256().Params().N
	p256HalfOrder = new(big.Int).Rsh(p256Order, 1)
)

// signatureSize is the length of an ES256 JWS signature: R and S, 32 bytes each.
const signatureSize = 64

// checkLowS reports whether a JOSE R||S signature has the one form the
// verifier accepts: 64 bytes and S ≤ n/2. Whether it verifies is golang-jwt's
// check, after this one.
func checkLowS(sig []byte) error {
	if len(sig) != signatureSize {
		return errors.New("signature is not 64 bytes")
	}
	if new(big.Int).SetBytes(sig[32:]).Cmp(p256HalfOrder) > 0 {
		return errors.New("signature has a high S (n−S is its canonical form)")
	}
	return nil
}

// joseSignature converts an ASN.1 DER ECDSA signature, as a Signer returns
// it, to the fixed-size low-S R||S form that JWS requires for ES256 (RFC 7518
// section 3.4). Only canonical DER is taken: encoding/asn1 ignores elements
// after the last field of a SEQUENCE (for extensibility), so the input must
// be exactly what asn1.Marshal makes of the two integers it holds.
func joseSignature(der []byte) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 || sig.R == nil || sig.S == nil || sig.R.Sign() <= 0 || sig.S.Sign() <= 0 {
		return nil, errors.New("signer returned a malformed ECDSA signature")
	}
	if canonical, err := asn1.Marshal(sig); err != nil || !bytes.Equal(canonical, der) {
		return nil, errors.New("signer returned an ECDSA signature that is not canonical DER")
	}
	if sig.R.Cmp(p256Order) >= 0 || sig.S.Cmp(p256Order) >= 0 {
		return nil, errors.New("signer returned a signature that is not P-256")
	}
	if sig.S.Cmp(p256HalfOrder) > 0 {
		sig.S.Sub(p256Order, sig.S)
	}
	out := make([]byte, signatureSize)
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}
