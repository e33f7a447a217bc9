// Package salesforce is a client for the parts of the Salesforce APIs that the
// sandbox-refresh pipeline uses: the OAuth 2.0 JWT bearer flow, the Tooling
// API's SandboxInfo and SandboxProcess, queries of User, UserLogin and Profile,
// and sObject Collections. It does not retry: errors say whether they are
// worth retrying (IsTransient) and the caller (Step Functions) retries.
package salesforce

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultAPIVersion is the REST API version used when Config.APIVersion is empty.
const DefaultAPIVersion = "v62.0"

// MinAPIVersion is the oldest API version the client accepts (major number).
const MinAPIVersion = 60

// MaxCollectionRecords is the most records one sObject Collections call takes.
const MaxCollectionRecords = 200

const (
	defaultHTTPTimeout = 30 * time.Second
	maxResponseBytes   = 32 << 20
)

var apiVersionPattern = regexp.MustCompile(`^v(\d{2,3})\.(\d)$`)

// Config is how to sign in to one Salesforce org.
type Config struct {
	// LoginURL is where the token is requested: https://login.salesforce.com
	// (production), https://test.salesforce.com (sandboxes) or the org's My
	// Domain URL.
	LoginURL string
	// Audience is the assertion's aud: AudienceProduction for a production
	// user, AudienceSandbox for a sandbox user, or an Experience Cloud site
	// URL. Never the My Domain URL, even when LoginURL is one.
	Audience string
	// ConsumerKey is the external client app's consumer key (the assertion's iss).
	ConsumerKey string
	// Username is the user to act as (the assertion's sub).
	Username string
	// PrivateKey signs the assertion; its certificate is uploaded to the app.
	PrivateKey *rsa.PrivateKey
	// APIVersion such as "v62.0"; DefaultAPIVersion when empty.
	APIVersion string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now defaults to time.Now.
	Now func() time.Time
}

// Client calls one org's APIs with the access token Connect obtained.
// It is safe for concurrent use.
type Client struct {
	httpClient  *http.Client
	instanceURL string
	apiVersion  string
	userID      string
	accessToken string // never logged, printed or put in an error
}

// String describes the client without its access token.
func (c *Client) String() string {
	return fmt.Sprintf("salesforce.Client{instance: %s, version: %s}", c.instanceURL, c.apiVersion)
}

// GoString is String, so %#v does not print the access token either.
func (c *Client) GoString() string { return c.String() }

// InstanceURL is the org's instance URL as the token response gave it.
func (c *Client) InstanceURL() string { return c.instanceURL }

// UserID is the signed-in user's id, from the token response's identity URL
// (empty when the response carried none).
func (c *Client) UserID() string { return c.userID }

// Connect signs in with the JWT bearer flow and returns a client for the org
// the user belongs to.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	assertion, err := signAssertion(cfg)
	if err != nil {
		return nil, err
	}
	tok, err := requestToken(ctx, cfg, assertion)
	if err != nil {
		return nil, fmt.Errorf("salesforce: sign in as %s: %w", cfg.Username, err)
	}
	instance, err := checkInstanceURL(cfg.LoginURL, tok.InstanceURL)
	if err != nil {
		return nil, err
	}
	return &Client{
		httpClient:  cfg.HTTPClient,
		instanceURL: instance,
		apiVersion:  cfg.APIVersion,
		userID:      userIDFromIdentity(tok.ID),
		accessToken: tok.AccessToken,
	}, nil
}

func (cfg Config) withDefaults() (Config, error) {
	cfg.LoginURL = strings.TrimRight(cfg.LoginURL, "/")
	u, err := url.Parse(cfg.LoginURL)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return cfg, errors.New("salesforce: login URL must be an absolute http(s) URL such as https://login.salesforce.com")
	case !validAudience(cfg.Audience):
		return cfg, errors.New("salesforce: the audience must be https://login.salesforce.com, https://test.salesforce.com or an Experience Cloud site's https URL")
	case cfg.ConsumerKey == "":
		return cfg, errors.New("salesforce: consumer key is required")
	case cfg.Username == "":
		return cfg, errors.New("salesforce: username is required")
	case cfg.PrivateKey == nil:
		return cfg, errors.New("salesforce: private key is required")
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	m := apiVersionPattern.FindStringSubmatch(cfg.APIVersion)
	if m == nil {
		return cfg, fmt.Errorf("salesforce: API version %q must look like v62.0", cfg.APIVersion)
	}
	if major, _ := strconv.Atoi(m[1]); major < MinAPIVersion {
		return cfg, fmt.Errorf("salesforce: API version %s is older than v%d.0", cfg.APIVersion, MinAPIVersion)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}

func validAudience(aud string) bool {
	u, err := url.Parse(aud)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil && u.RawQuery == "" && u.Fragment == ""
}

// checkInstanceURL accepts the token response's instance URL only if it is an
// absolute URL that does not downgrade an https login to http.
func checkInstanceURL(loginURL, instanceURL string) (string, error) {
	instanceURL = strings.TrimRight(instanceURL, "/")
	u, err := url.Parse(instanceURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", errors.New("salesforce: token response has no usable instance_url")
	}
	if strings.HasPrefix(loginURL, "https:") && u.Scheme != "https" {
		return "", errors.New("salesforce: token response's instance_url is not https")
	}
	return instanceURL, nil
}

// userIDFromIdentity takes the user id from an identity URL such as
// https://login.salesforce.com/id/00Dxx0000001gPL/005xx000001Sv6e.
func userIDFromIdentity(id string) string {
	u, err := url.Parse(id)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 3 || parts[len(parts)-3] != "id" {
		return ""
	}
	return parts[len(parts)-1]
}

// dataPath is the path of a REST resource of this API version, e.g.
// dataPath("tooling/query") = "/services/data/v62.0/tooling/query".
func (c *Client) dataPath(resource string) string {
	return "/services/data/" + c.apiVersion + "/" + resource
}

// do sends one API request. path is relative to the instance URL (query
// strings included). body, when not nil, is sent as JSON; out, when not nil,
// receives the JSON response.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.instanceURL+path, reader)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.accessToken)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return err // *url.Error: IsTransient recognises it; it holds the URL, never the token
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeAPIError(resp.StatusCode, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode %s response: %w", method, err)
	}
	return nil
}
