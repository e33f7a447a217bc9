package plans

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dcs-access/dcs-access/internal/access"
)

// SecretPrefix is the name prefix of the pipeline's secrets: a tenant's are
// called dcs-access/<tenant>/…, and the pipeline's role may read no others.
const SecretPrefix = "dcs-access/"

// The secrets a tenant's users store for a plan themselves (the self-service
// routes, internal/pipelinesecrets) have these names: SecretName.
const (
	SalesforceKeySecret = "salesforce-key"
	DCSTokenSecret      = "dcs-token"
)

// SecretName is the name of the self-service secret of kind for tenant's
// sandbox, dcs-access/<tenant>/<sandbox, lower-cased>/<kind>: under the
// tenant's prefix, the only secrets its plans may name.
func SecretName(tenant, sandbox, kind string) string {
	return SecretPrefix + tenant + "/" + strings.ToLower(sandbox) + "/" + kind
}

// Validator checks plans. Every failure names the field, so a person can fix it.
type Validator struct {
	// SecretPrefix scopes secrets to tenants: a plan may only name secrets
	// called <SecretPrefix><tenant>/…, so no tenant can point the pipeline at
	// another tenant's Salesforce key or DCS token.
	SecretPrefix string
	// AllowLoopback lets URLs point at http://127.0.0.1 (the local simulators
	// of `make run` and tests). Never set in AWS.
	AllowLoopback bool
}

// Limits of a plan.
const (
	MaxKeepUsers    = 1000
	MaxNonProdUsers = 500
	MaxTimeoutHours = 72 // the state machine's own timeout is 76 hours
	maxPollSeconds  = 3600
)

var (
	sandboxPattern  = regexp.MustCompile(`^[A-Za-z0-9]{1,10}$`)
	apexNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,39}$`)
	apiVersion      = regexp.MustCompile(`^v([0-9]{2,3})\.0$`)
	jobIDPattern    = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	sidKeyPattern   = regexp.MustCompile(`^[A-Za-z0-9_/+-]{1,40}$`)
	secretARN       = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:(.+)$`)
	consumerKeyChar = regexp.MustCompile(`^[\x21-\x7e]{1,256}$`)
	cronPattern     = regexp.MustCompile(`^cron\(([^()]+)\)$`)
)

func invalid(field, format string, args ...any) error {
	return access.Errorf(access.EINVALID, "INVALID_PLAN", "%s %s.", field, fmt.Sprintf(format, args...))
}

// ValidSandbox reports whether s can be a sandbox name.
func ValidSandbox(s string) bool { return sandboxPattern.MatchString(s) }

func (v Validator) sandboxName(s string) error {
	if !sandboxPattern.MatchString(s) {
		return invalid("sandbox", "must be 1 to 10 letters or digits (Salesforce's rule for sandbox names)")
	}
	return nil
}

// Validate checks every field of p for tenant.
func (v Validator) Validate(tenant string, p Plan) error {
	checks := []error{
		v.sandboxName(p.Sandbox),
		sandboxOptions(p),
		v.salesforceURL("salesforce.loginUrl", p.Salesforce.LoginURL),
		v.salesforceURL("salesforce.sandboxLoginUrl", p.Salesforce.SandboxLoginURL),
		optional(p.Salesforce.Audience, func() error { return audience("salesforce.audience", p.Salesforce.Audience) }),
		optional(p.Salesforce.SandboxAudience, func() error { return audience("salesforce.sandboxAudience", p.Salesforce.SandboxAudience) }),
		match("salesforce.consumerKey", p.Salesforce.ConsumerKey, consumerKeyChar, "must be the external client app's consumer key (1 to 256 printable characters)"),
		username("salesforce.username", p.Salesforce.Username),
		v.secret("salesforce.privateKeySecretArn", p.Salesforce.PrivateKeySecretARN, tenant),
		version(p.Salesforce.APIVersion),
		v.httpsURL("dcs.baseUrl", p.DCS.BaseURL),
		match("dcs.complianceJobId", p.DCS.ComplianceJobID, jobIDPattern, "must be 1 to 128 letters, digits or . _ : -"),
		v.secret("dcs.apiTokenSecretArn", p.DCS.APITokenSecretARN, tenant),
		username("dcs.connectorUsername", p.DCS.ConnectorUsername),
		keepUsers(p.KeepUsers),
		nonProdUsers(p.NonProdUsers),
		between("pollIntervals.refreshSeconds", p.PollIntervals.RefreshSeconds, 30, maxPollSeconds),
		between("pollIntervals.maxRefreshSeconds", p.PollIntervals.MaxRefreshSeconds, p.PollIntervals.RefreshSeconds, maxPollSeconds),
		between("pollIntervals.maskingSeconds", p.PollIntervals.MaskingSeconds, 10, maxPollSeconds),
		between("pollIntervals.maxMaskingSeconds", p.PollIntervals.MaxMaskingSeconds, p.PollIntervals.MaskingSeconds, maxPollSeconds),
		between("timeoutHours", p.TimeoutHours, 1, MaxTimeoutHours),
		historyBudget("pollIntervals.maxRefreshSeconds", p.PollIntervals.MaxRefreshSeconds, p.TimeoutHours),
		historyBudget("pollIntervals.maxMaskingSeconds", p.PollIntervals.MaxMaskingSeconds, p.TimeoutHours),
		optional(p.Schedule, func() error { return schedule(p.Schedule) }),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}

// historyDays are SandboxInfo.HistoryDays' values: -1 is all, 0 Salesforce's default.
var historyDays = []int{-1, 0, 10, 20, 30, 60, 90, 120, 150, 180}

// sandboxOptions checks the SandboxInfo fields a refresh sets, with the rules
// of the Tooling API reference: a clone has no license type of its own and
// no activation user group; Developer and Developer Pro sandboxes need one
// (since Spring '25); field history and Chatter are copied to Full
// sandboxes only.
func sandboxOptions(p Plan) error {
	clone := p.SourceSandbox != ""
	checks := []error{
		optional(p.SourceSandbox, func() error {
			if strings.EqualFold(p.SourceSandbox, p.Sandbox) {
				return invalid("sourceSandbox", "must be another sandbox than the one refreshed")
			}
			return match("sourceSandbox", p.SourceSandbox, sandboxPattern, "must be a sandbox name (1 to 10 letters or digits)")
		}),
		optional(p.ApexClassName, func() error {
			return match("apexClassName", p.ApexClassName, apexNamePattern, "must be an Apex class name (letters, digits and underscores, starting with a letter)")
		}),
		length("description", p.Description, 0, 1000),
		length("activationUserGroup", p.ActivationUserGroup, 0, 40),
	}
	switch {
	case clone && p.LicenseType != "":
		checks = append(checks, invalid("licenseType", "must be left out when sourceSandbox is set: a clone has its source's license type"))
	case clone && p.ActivationUserGroup != "":
		checks = append(checks, invalid("activationUserGroup", "must be left out when sourceSandbox is set: Salesforce offers selective sandbox access only to copies of production"))
	case !clone:
		checks = append(checks, oneOf("licenseType", p.LicenseType, LicenseTypes))
		if (p.LicenseType == "DEVELOPER" || p.LicenseType == "DEVELOPER_PRO") && p.ActivationUserGroup == "" {
			checks = append(checks, invalid("activationUserGroup", "is required for a %s sandbox: Salesforce refreshes Developer and Developer Pro sandboxes only with a public group of the users who may use them", p.LicenseType))
		}
	}
	if !slices.Contains(historyDays, p.HistoryDays) {
		checks = append(checks, invalid("historyDays", "must be -1 (all), 0 (Salesforce's default), 10, 20, 30, 60, 90, 120, 150 or 180"))
	}
	if p.LicenseType != "FULL" && (p.HistoryDays != 0 || p.CopyChatter) {
		checks = append(checks, invalid(map[bool]string{true: "copyChatter", false: "historyDays"}[p.CopyChatter], "applies to Full sandboxes copied from production only (licenseType FULL)"))
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}

func optional(v string, check func() error) error {
	if v == "" {
		return nil
	}
	return check()
}

func match(field, v string, re *regexp.Regexp, why string) error {
	if !re.MatchString(v) {
		return invalid(field, "%s", why)
	}
	return nil
}

func oneOf(field, v string, allowed []string) error {
	if !slices.Contains(allowed, v) {
		return invalid(field, "must be one of %s", strings.Join(allowed, ", "))
	}
	return nil
}

func between(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return invalid(field, "must be a whole number from %d to %d", lo, hi)
	}
	return nil
}

// historyBudget keeps a run far below Step Functions' 25,000 history events:
// each poll costs about 9 events, so a run may poll at most 1,200 times
// (about 11,000 events, leaving room for retries) over its whole timeout.
func historyBudget(field string, maxSeconds, timeoutHours int) error {
	if min := timeoutHours * 3; maxSeconds < min {
		return invalid(field, "must be at least %d for a %d-hour timeout (3 seconds per hour), or a run could outgrow the state machine's history", min, timeoutHours)
	}
	return nil
}

// username checks a Salesforce username: the form of an e-mail address.
func username(field, u string) error {
	if len(u) > 80 {
		return invalid(field, "must be at most 80 characters")
	}
	if a, err := mail.ParseAddress(u); err != nil || a.Address != u {
		return invalid(field, "must be a Salesforce username in the form of an e-mail address")
	}
	return nil
}

func version(v string) error {
	m := apiVersion.FindStringSubmatch(v)
	if m == nil {
		return invalid("salesforce.apiVersion", "must look like v62.0")
	}
	if n, _ := strconv.Atoi(m[1]); n < 60 {
		return invalid("salesforce.apiVersion", "must be v60.0 or later")
	}
	return nil
}

// selfService is the route that stores each secret a plan names (and
// then points the plan at it).
var selfService = map[string]string{
	"salesforce.privateKeySecretArn": "PUT /sandbox-plans/{sandbox}/salesforce-key",
	"dcs.apiTokenSecretArn":          "POST /sandbox-plans/{sandbox}/dcs-token",
}

func (v Validator) secret(field, arn, tenant string) error {
	if !access.TenantPattern.MatchString(tenant) {
		return invalid(field, "cannot be checked: the tenant name is not valid")
	}
	if arn == "" {
		return invalid(field, "must be the ARN of a Secrets Manager secret, or left out once %s has stored it", selfService[field])
	}
	m := secretARN.FindStringSubmatch(arn)
	if m == nil {
		return invalid(field, "must be the ARN of a Secrets Manager secret")
	}
	if prefix := v.SecretPrefix + tenant + "/"; !strings.HasPrefix(m[1], prefix) {
		return invalid(field, "must name a secret called %s… (secrets are scoped to your tenant)", prefix)
	}
	return nil
}

func (v Validator) loopback(u *url.URL) bool {
	ip := net.ParseIP(u.Hostname())
	return v.AllowLoopback && u.Scheme == "http" && (u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()))
}

// httpsURL accepts an absolute https URL to a DNS name, without credentials,
// query or fragment. IP literals are refused so a plan cannot aim the
// pipeline's requests (which carry secrets) at internal addresses.
func (v Validator) httpsURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || len(raw) > 2048 {
		return invalid(field, "must be an absolute https URL without credentials, query or fragment")
	}
	if v.loopback(u) {
		return nil
	}
	if u.Scheme != "https" {
		return invalid(field, "must use https")
	}
	if host := u.Hostname(); net.ParseIP(host) != nil || host == "localhost" || !strings.Contains(host, ".") {
		return invalid(field, "must name a public host, not an IP address or local name")
	}
	return nil
}

// salesforceURL accepts Salesforce's login hosts and My Domain hosts.
func (v Validator) salesforceURL(field, raw string) error {
	if err := v.httpsURL(field, raw); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	if v.loopback(u) {
		return nil
	}
	if host := strings.ToLower(u.Hostname()); host != "salesforce.com" && !strings.HasSuffix(host, ".salesforce.com") {
		return invalid(field, "must be a Salesforce login URL such as https://login.salesforce.com or https://yourdomain.my.salesforce.com")
	}
	if strings.Trim(u.Path, "/") != "" {
		return invalid(field, "must have no path")
	}
	return nil
}

// audience accepts an assertion audience: an https URL, such as an
// Experience Cloud site's (https://acme.my.site.com/customers). It is not a
// destination of any request, so any public https URL will do, but a My
// Domain URL is refused as Salesforce refuses it.
func audience(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || len(raw) > 2048 {
		return invalid(field, "must be an https URL without credentials, query or fragment, such as an Experience Cloud site's")
	}
	if host := strings.ToLower(u.Hostname()); strings.HasSuffix(host, ".my.salesforce.com") {
		return invalid(field, "must not be a My Domain URL: the audience is https://login.salesforce.com or https://test.salesforce.com (the default) or an Experience Cloud site, even when the token is requested from My Domain")
	}
	return nil
}

func keepUsers(users []string) error {
	if len(users) > MaxKeepUsers {
		return invalid("keepUsers", "must list at most %d usernames", MaxKeepUsers)
	}
	for i, u := range users {
		if err := username(fmt.Sprintf("keepUsers[%d]", i), u); err != nil {
			return err
		}
	}
	return nil
}

func nonProdUsers(users []User) error {
	if len(users) > MaxNonProdUsers {
		return invalid("nonProdUsers", "must list at most %d users", MaxNonProdUsers)
	}
	seen := map[string]bool{}
	for i, u := range users {
		f := func(name string) string { return fmt.Sprintf("nonProdUsers[%d].%s", i, name) }
		checks := []error{
			username(f("username"), u.Username),
			email(f("email"), u.Email),
			length(f("firstName"), u.FirstName, 0, 40),
			length(f("lastName"), u.LastName, 1, 80),
			length(f("alias"), u.Alias, 1, 8),
			length(f("profileName"), u.ProfileName, 1, 255),
			match(f("timeZone"), u.TimeZone, sidKeyPattern, "must be a Salesforce time zone key such as America/Los_Angeles"),
			match(f("locale"), u.Locale, sidKeyPattern, "must be a Salesforce locale key such as en_US"),
			match(f("emailEncoding"), u.EmailEncoding, sidKeyPattern, "must be an e-mail encoding key such as UTF-8"),
			match(f("language"), u.Language, sidKeyPattern, "must be a language key such as en_US"),
		}
		for _, err := range checks {
			if err != nil {
				return err
			}
		}
		key := strings.ToLower(u.Username)
		if seen[key] {
			return invalid(f("username"), "is listed twice")
		}
		seen[key] = true
	}
	return nil
}

func email(field, e string) error {
	if a, err := mail.ParseAddress(e); err != nil || a.Address != e || len(e) > 128 {
		return invalid(field, "must be an e-mail address")
	}
	return nil
}

func length(field, s string, lo, hi int) error {
	n := utf8.RuneCountInString(s)
	if n < lo || n > hi || strings.TrimSpace(s) != s {
		if lo == 0 {
			return invalid(field, "must be at most %d characters, without surrounding spaces", hi)
		}
		return invalid(field, "must be %d to %d characters, without surrounding spaces", lo, hi)
	}
	return nil
}

// schedule accepts an EventBridge cron expression: cron(min hour dom month dow year).
func schedule(s string) error {
	m := cronPattern.FindStringSubmatch(s)
	if m == nil || len(strings.Fields(m[1])) != 6 {
		return invalid("schedule", "must be an EventBridge cron expression with six fields, such as cron(0 2 ? * SUN *)")
	}
	return nil
}
