package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxQueryPages stops a runaway loop should a server keep sending
// nextRecordsUrl: 10,000 pages of at least 200 records is 2 million records.
const maxQueryPages = 10000

// queryPage is one page of a REST or Tooling API query response.
type queryPage[T any] struct {
	TotalSize      int    `json:"totalSize"`
	Done           bool   `json:"done"`
	NextRecordsURL string `json:"nextRecordsUrl"`
	Records        []T    `json:"records"`
}

// queryAll runs soql on resource ("query" or "tooling/query") and follows
// nextRecordsUrl until done.
func queryAll[T any](ctx context.Context, c *Client, resource, soql string) ([]T, error) {
	path := c.dataPath(resource) + "?q=" + url.QueryEscape(soql)
	var all []T
	for range maxQueryPages {
		var page queryPage[T]
		if err := c.do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Records...)
		if page.Done || page.NextRecordsURL == "" {
			return all, nil
		}
		// nextRecordsUrl is a path on the instance, e.g. /services/data/v62.0/query/01g…-2000.
		if !strings.HasPrefix(page.NextRecordsURL, "/services/data/") {
			return nil, fmt.Errorf("query response has an unexpected nextRecordsUrl")
		}
		path = page.NextRecordsURL
	}
	return nil, fmt.Errorf("query did not finish after %d pages", maxQueryPages)
}

// sfTime is a Salesforce dateTime such as 2024-05-01T12:34:56.000+0000;
// null or empty is the zero time.
type sfTime struct{ time.Time }

func (t *sfTime) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		t.Time = time.Time{}
		return nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("salesforce: unrecognised dateTime %q", s)
}
