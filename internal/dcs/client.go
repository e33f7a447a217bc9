// Package dcs is the client of the DCS (Delphix Compliance Services) masking
// job API: it starts an execution of a compliance job, reads its status and
// lists the job's executions, authenticating with a DCS API token. Base URL
// and paths come from configuration, so the same client talks to DCS and to
// its simulator (package dcssim).
//
// DCS documents the Bearer header; the paths, fields and statuses are not in
// its public documentation and are this project's assumption (docs/pipeline.md,
// "DCS API"). DCS documents no idempotency key, so none is sent: the pipeline
// looks for an execution it may already have started before it starts one.
package dcs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Default paths of the job API (assumed: see the package comment). {jobId}
// and {id} are replaced by the URL-escaped job and execution ids. Start is a
// POST, status and list are GETs.
const (
	DefaultStartPath  = "/v1/compliance-jobs/{jobId}/executions"
	DefaultStatusPath = "/v1/executions/{id}"
	DefaultListPath   = "/v1/compliance-jobs/{jobId}/executions"
)

const (
	jobIDParam       = "{jobId}"
	executionIDParam = "{id}"

	// DefaultTimeout bounds one request when Config.HTTPClient is nil.
	DefaultTimeout = 30 * time.Second

	maxResponseBytes = 1 << 20 // a status answer is tiny; anything near this is not DCS
	maxListBytes     = 8 << 20 // a page of a job's executions: thousands fit
	maxListPages     = 1000    // pages of one list: a cursor that never ends is not DCS
	maxCursorBytes   = 4 << 10 // Data Control Tower's cursors are at most 4,096 characters
	maxMessageBytes  = 512     // of an error message kept from a response
	maxIDBytes       = 1 << 10
)

// Config says where DCS is and how to authenticate to it.
type Config struct {
	BaseURL    string // absolute http(s) URL, may carry a path prefix
	StartPath  string // default DefaultStartPath; must contain {jobId}
	StatusPath string // default DefaultStatusPath; must contain {id}
	ListPath   string // default DefaultListPath; must contain {jobId}
	Token      string // the DCS API token, sent as "Authorization: Bearer <token>"
	// HTTPClient defaults to a client with DefaultTimeout that does not
	// follow redirects, so the token is never sent anywhere but BaseURL.
	HTTPClient *http.Client
}

// Client calls the DCS job API. It is safe for concurrent use.
type Client struct {
	base       string // scheme://host[/prefix], no trailing slash
	startPath  string
	statusPath string
	listPath   string
	token      string
	http       *http.Client
}

// New validates cfg and returns a client. Errors never contain the token or
// the base URL (which could carry credentials).
func New(cfg Config) (*Client, error) {
	base, err := baseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	start, err := pathTemplate("StartPath", cfg.StartPath, DefaultStartPath, jobIDParam)
	if err != nil {
		return nil, err
	}
	status, err := pathTemplate("StatusPath", cfg.StatusPath, DefaultStatusPath, executionIDParam)
	if err != nil {
		return nil, err
	}
	list, err := pathTemplate("ListPath", cfg.ListPath, DefaultListPath, jobIDParam)
	if err != nil {
		return nil, err
	}
	token := strings.TrimSpace(cfg.Token) // secrets pasted with a trailing newline still work
	if token == "" {
		return nil, errors.New("dcs: Token is required")
	}
	if strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return nil, errors.New("dcs: Token must be printable ASCII without spaces")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{
			Timeout:       DefaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Client{base: base, startPath: start, statusPath: status, listPath: list, token: token, http: hc}, nil
}

func baseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return "", errors.New("dcs: BaseURL must be an absolute http or https URL")
	case u.User != nil:
		return "", errors.New("dcs: BaseURL must not contain credentials: use Token")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", errors.New("dcs: BaseURL must not have a query or fragment")
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

func pathTemplate(name, path, def, param string) (string, error) {
	if path == "" {
		return def, nil
	}
	switch {
	case !strings.HasPrefix(path, "/"):
		return "", fmt.Errorf("dcs: %s must start with /", name)
	case !strings.Contains(path, param):
		return "", fmt.Errorf("dcs: %s must contain %s", name, param)
	case strings.ContainsAny(path, "?# "):
		return "", fmt.Errorf("dcs: %s must be a path without query or fragment", name)
	}
	return path, nil
}

// StartExecution starts an execution of the compliance job jobID. DCS
// documents no idempotency key, so a retry after a lost answer may start a
// second execution: callers look for their execution first (Executions).
func (c *Client) StartExecution(ctx context.Context, jobID string) (Execution, error) {
	if err := checkID("job", jobID); err != nil {
		return Execution{}, err
	}
	body, err := c.do(ctx, http.MethodPost, c.jobPath(c.startPath, jobID), maxResponseBytes)
	var e Execution
	if err == nil {
		e, err = decodeExecution(body)
	}
	if err != nil {
		return Execution{}, fmt.Errorf("dcs: start execution of job %q: %w", jobID, err)
	}
	return e, nil
}

// Execution returns the current state of execution id.
func (c *Client) Execution(ctx context.Context, id string) (Execution, error) {
	if err := checkID("execution", id); err != nil {
		return Execution{}, err
	}
	body, err := c.do(ctx, http.MethodGet, strings.ReplaceAll(c.statusPath, executionIDParam, url.PathEscape(id)), maxResponseBytes)
	var e Execution
	if err == nil {
		e, err = decodeExecution(body)
	}
	if err == nil && e.ID != id {
		err = fmt.Errorf("answer is about execution %q", e.ID)
	}
	if err != nil {
		return Execution{}, fmt.Errorf("dcs: get execution %q: %w", id, err)
	}
	return e, nil
}

// Executions returns every execution of the compliance job jobID. DCS
// documents no pagination, so the client fails closed: it follows the one
// paging scheme Delphix documents for its "items" lists (Data Control
// Tower's response_metadata.next_cursor, sent back as the cursor query
// parameter), and any other sign that the answer holds only part of the
// list is an error, never a partial list taken as the whole (see
// pageMarkers). An execution the answer cannot describe (no id, an unknown
// status) fails the whole list too: a caller deciding whether to start a
// masking job must not overlook one.
func (c *Client) Executions(ctx context.Context, jobID string) ([]Execution, error) {
	if err := checkID("job", jobID); err != nil {
		return nil, err
	}
	list, err := c.executions(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("dcs: list executions of job %q: %w", jobID, err)
	}
	return list, nil
}

func (c *Client) executions(ctx context.Context, jobID string) ([]Execution, error) {
	path := c.jobPath(c.listPath, jobID)
	list := []Execution{}
	seen := map[string]bool{}
	cursor := ""
	for page := 1; ; page++ {
		if page > maxListPages {
			return nil, fmt.Errorf("the list did not end within %d pages", maxListPages)
		}
		p := path
		if cursor != "" {
			p += "?cursor=" + url.QueryEscape(cursor)
		}
		body, header, err := c.doHeader(ctx, http.MethodGet, p, maxListBytes)
		if err != nil {
			return nil, err
		}
		items, next, err := decodePage(body, header, len(list))
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", page, err)
		}
		list = append(list, items...)
		if next == "" {
			return list, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("page %d: the answer's next_cursor repeats an earlier one", page)
		}
		seen[next] = true
		cursor = next
	}
}

func (c *Client) jobPath(template, jobID string) string {
	return strings.ReplaceAll(template, jobIDParam, url.PathEscape(jobID))
}

// checkID refuses ids that cannot name one path segment: escaping keeps
// "/" inside the segment, but "." and ".." would still be resolved away.
func checkID(kind, id string) error {
	switch {
	case id == "" || id == "." || id == "..":
		return fmt.Errorf("dcs: invalid %s id %q", kind, id)
	case len(id) > maxIDBytes:
		return fmt.Errorf("dcs: %s id is longer than %d bytes", kind, maxIDBytes)
	}
	return nil
}

// do sends a request without a body and returns the body of a 2xx answer
// of at most limit bytes.
func (c *Client) do(ctx context.Context, method, path string, limit int) ([]byte, error) {
	body, _, err := c.doHeader(ctx, method, path, limit)
	return body, err
}

// doHeader is do, with the answer's header.
func (c *Client) doHeader(ctx context.Context, method, path string, limit int) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "dcs-access")
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error names the method and URL, never the headers.
		return nil, nil, &transportError{err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, nil, &transportError{fmt.Errorf("read response: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, nil, c.apiError(resp.StatusCode, body)
	}
	if len(body) > limit {
		return nil, nil, fmt.Errorf("response body is larger than %d bytes", limit)
	}
	return body, resp.Header, nil
}

// wireExecution is an execution as the job API writes it.
type wireExecution struct {
	ID        json.RawMessage `json:"id"`
	Status    string          `json:"status"`
	StartTime string          `json:"startTime"`
}

func decodeExecution(body []byte) (Execution, error) {
	var wire wireExecution
	if err := json.Unmarshal(body, &wire); err != nil {
		return Execution{}, fmt.Errorf("decode response: %w", err)
	}
	return wire.execution()
}

// decodePage reads one page of a job's executions, {"items":[…]}: its
// executions, and the cursor of the next page ("" on the last). before is
// how many executions the earlier pages held.
func decodePage(body []byte, header http.Header, before int) ([]Execution, string, error) {
	var page map[string]json.RawMessage
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", fmt.Errorf("decode response: %w", err)
	}
	var items []wireExecution
	if raw, ok := page["items"]; !ok || json.Unmarshal(raw, &items) != nil || items == nil {
		return nil, "", errors.New(`response has no "items" list`)
	}
	list := make([]Execution, 0, len(items))
	for i, w := range items {
		e, err := w.execution()
		if err != nil {
			return nil, "", fmt.Errorf("item %d: %w", i, err)
		}
		list = append(list, e)
	}
	next, err := nextCursor(page)
	if err != nil {
		return nil, "", err
	}
	if marker := pageMarkers(page, header, next != "", before+len(list)); marker != "" {
		return nil, "", fmt.Errorf("the answer holds only part of the list (%s) and says nothing this client can follow: refusing to take it as the whole list", marker)
	}
	return list, next, nil
}

// nextCursor is response_metadata.next_cursor, the next page's cursor in
// Data Control Tower's paginated answers; "" when there is none.
func nextCursor(page map[string]json.RawMessage) (string, error) {
	raw, ok := page["response_metadata"]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var meta map[string]json.RawMessage
	if err := json.Unmarshal(raw, &meta); err != nil {
		return "", errors.New("response_metadata is not an object")
	}
	raw, ok = meta["next_cursor"]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var next string
	if err := json.Unmarshal(raw, &next); err != nil {
		return "", errors.New("response_metadata.next_cursor is not a string")
	}
	if len(next) > maxCursorBytes {
		return "", fmt.Errorf("response_metadata.next_cursor is longer than %d bytes", maxCursorBytes)
	}
	return next, nil
}

// Paging markers other APIs use (compared lower-cased, without "_", "-"
// and "@"). A cursor or link that is set, a flag that is true, or a total
// above the executions read so far, means more pages.
var (
	cursorMarkers = map[string]bool{
		"next": true, "nextcursor": true, "cursor": true, "nexttoken": true, "nextpagetoken": true,
		"nextlink": true, "odatanextlink": true, "nextpage": true, "nexturl": true, "continuationtoken": true,
		"after": true, "startcursor": true, "pagetoken": true, "marker": true, "nextmarker": true,
	}
	flagMarkers  = map[string]bool{"hasmore": true, "hasnext": true, "hasnextpage": true, "more": true, "moreresults": true, "truncated": true, "istruncated": true}
	totalMarkers = map[string]bool{"total": true, "totalcount": true, "totalitems": true, "totalresults": true, "totalrecords": true, "totalsize": true, "count": true}
	// Members whose objects are looked into for the markers above.
	pageContainers = map[string]bool{"responsemetadata": true, "pageinfo": true, "page": true, "paging": true, "pagination": true, "meta": true, "metadata": true, "links": true, "cursor": true}
)

// pageMarkers names the first sign, in a page other than the cursor this
// client follows, that the list goes on: a paging member of the answer (at
// its top or in a paging object such as _pageInfo or links), or a Link
// header with rel="next" (RFC 8288). followed says the page has a
// next_cursor (then a flag or total saying there is more agrees with it,
// but another cursor makes the paging ambiguous); read is how many
// executions the pages so far held. "" when there is none.
func pageMarkers(page map[string]json.RawMessage, header http.Header, followed bool, read int) string {
	for _, link := range header.Values("Link") {
		if l := strings.ToLower(link); strings.Contains(l, `rel="next"`) || strings.Contains(l, "rel=next") {
			return "a Link header with rel=next"
		}
	}
	return objectMarkers(page, "", followed, read)
}

func objectMarkers(obj map[string]json.RawMessage, prefix string, followed bool, read int) string {
	for _, name := range sortedKeys(obj) {
		raw := obj[name]
		key := strings.NewReplacer("_", "", "-", "", "@", "", ".", "").Replace(strings.ToLower(name))
		path := prefix + name
		switch {
		case path == "items", path == "response_metadata.next_cursor", strings.HasPrefix(key, "prev"):
			continue
		case cursorMarkers[key] && present(raw):
			if key == "cursor" && isObject(raw) {
				break // a paging object, looked into below
			}
			return path + " is set"
		case flagMarkers[key] && string(raw) == "true" && !followed:
			return path + " is true"
		case totalMarkers[key] && !followed:
			if n, ok := number(raw); ok && n > float64(read) {
				return fmt.Sprintf("%s is %v, above the %d executions listed", path, n, read)
			}
		}
		if pageContainers[key] && prefix == "" {
			var inner map[string]json.RawMessage
			if json.Unmarshal(raw, &inner) == nil {
				if m := objectMarkers(inner, name+".", followed, read); m != "" {
					return m
				}
			}
		}
	}
	return ""
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// present reports whether a marker's value says something: not null, not
// an empty string, not false, not an empty object or list.
func present(raw json.RawMessage) bool {
	switch strings.TrimSpace(string(raw)) {
	case "", "null", `""`, "false", "{}", "[]":
		return false
	}
	return true
}

func isObject(raw json.RawMessage) bool {
	return strings.HasPrefix(strings.TrimSpace(string(raw)), "{")
}

func number(raw json.RawMessage) (float64, bool) {
	var n float64
	err := json.Unmarshal(raw, &n)
	return n, err == nil
}

func (w wireExecution) execution() (Execution, error) {
	id, err := decodeID(w.ID)
	if err != nil {
		return Execution{}, err
	}
	status, err := ParseStatus(w.Status)
	if err != nil {
		return Execution{}, err
	}
	// A start time that is missing or unreadable stays zero: the status
	// still counts, and a caller that needs the time sees it is unknown.
	started, _ := time.Parse(time.RFC3339, w.StartTime)
	return Execution{ID: id, Status: status, StartedAt: started.UTC()}, nil
}

// decodeID accepts the id as a JSON string or integer: ids are opaque, and
// some DCS deployments number their executions.
func decodeID(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil && s != "" {
		return s, nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err == nil && n != "" && !strings.ContainsAny(n.String(), ".eE-") {
		return n.String(), nil
	}
	return "", errors.New("response has no execution id")
}

// apiError builds the error of a non-2xx answer, keeping the project's error
// shape when the body has it. The message is shortened and scrubbed of the
// token in case a server echoes the request back.
func (c *Client) apiError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	if len(body) > maxResponseBytes {
		return e
	}
	var wire struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &wire) == nil {
		e.Code = c.clean(wire.Error.Code)
		e.Message = c.clean(wire.Error.Message)
	}
	return e
}

func (c *Client) clean(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), c.token, "[redacted]")
	s = strings.Map(func(r rune) rune { // one line in logs, no terminal escapes
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxMessageBytes {
		cut := maxMessageBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
