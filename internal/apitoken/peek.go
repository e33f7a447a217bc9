package apitoken

import "github.com/golang-jwt/jwt/v5"

// UnverifiedID returns the id (jti) that raw claims, without checking its
// signature or anything else: to find which stored token a secret holds.
// It is only a key to look up, in the caller's own tenant; nothing is
// granted on its word.
func UnverifiedID(raw string) (string, bool) {
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &claims); err != nil || claims.ID == "" {
		return "", false
	}
	return claims.ID, true
}
