package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTBearerGrantType is the grant_type of the OAuth 2.0 JWT bearer flow (RFC 7523).
const JWTBearerGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// The audiences of a JWT bearer assertion. Salesforce wants its generic login
// URL, whichever host (a My Domain included) the token is requested from; a My
// Domain audience is refused with invalid_grant "audience is invalid". The
// third kind, an Experience Cloud site URL, is the site's own.
// https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_jwt_flow.htm
const (
	AudienceProduction = "https://login.salesforce.com"
	AudienceSandbox    = "https://test.salesforce.com"
)

// AssertionLifetime is how long a signed assertion is valid: the JWT bearer
// flow documentation asks for an exp within 3 minutes.
const AssertionLifetime = 3 * time.Minute

// tokenResponse is the token endpoint's success body.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	InstanceURL string `json:"instance_url"`
	ID          string `json:"id"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
}

// signAssertion builds the RS256 assertion: iss the consumer key, sub the
// username, aud the audience, exp 3 minutes from now.
func signAssertion(cfg Config) (string, error) {
	claims := jwt.MapClaims{
		"iss": cfg.ConsumerKey,
		"sub": cfg.Username,
		"aud": cfg.Audience, // a string, not a one-element array
		"exp": jwt.NewNumericDate(cfg.Now().Add(AssertionLifetime)),
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(cfg.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("salesforce: sign assertion: %w", err)
	}
	return signed, nil
}

// requestToken exchanges the assertion for an access token. The assertion
// goes in the form body, so no URL (which errors may quote) ever holds it.
func requestToken(ctx context.Context, cfg Config, assertion string) (tokenResponse, error) {
	form := url.Values{"grant_type": {JWTBearerGrantType}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.LoginURL+"/services/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, fmt.Errorf("build token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return tokenResponse{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return tokenResponse{}, fmt.Errorf("read token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return tokenResponse{}, decodeAPIError(resp.StatusCode, data)
	}
	var tok tokenResponse
	if err := json.Unmarshal(data, &tok); err != nil {
		return tokenResponse{}, fmt.Errorf("decode token response: %w", err)
	}
	if tok.AccessToken == "" {
		return tokenResponse{}, fmt.Errorf("token response has no access_token")
	}
	if tok.TokenType != "" && !strings.EqualFold(tok.TokenType, "Bearer") {
		return tokenResponse{}, fmt.Errorf("token response has token_type %q, want Bearer", tok.TokenType)
	}
	return tok, nil
}
