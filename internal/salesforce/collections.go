package salesforce

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
)

// SaveResult is the outcome of saving one record, in the order sent.
type SaveResult struct {
	ID      string        `json:"id"` // empty when the save failed
	Success bool          `json:"success"`
	Errors  []RecordError `json:"errors"`
}

// RecordError is why one record was not saved.
type RecordError struct {
	StatusCode string   `json:"statusCode"` // e.g. DUPLICATE_USERNAME, REQUIRED_FIELD_MISSING
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func (e RecordError) Error() string {
	if len(e.Fields) == 0 {
		return e.StatusCode + ": " + e.Message
	}
	return fmt.Sprintf("%s: %s (fields: %s)", e.StatusCode, e.Message, strings.Join(e.Fields, ", "))
}

// Err is nil for a saved record, otherwise the record's errors.
func (r SaveResult) Err() error {
	if r.Success {
		return nil
	}
	if len(r.Errors) == 0 {
		return errors.New("record not saved, no reason given")
	}
	errs := make([]error, len(r.Errors))
	for i, e := range r.Errors {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// collectionRequest is the body of an sObject Collections create or update.
type collectionRequest struct {
	AllOrNone bool             `json:"allOrNone"`
	Records   []map[string]any `json:"records"`
}

// UpdateRecords updates records of sobjectType (each holds "Id" and the
// fields to change) with sObject Collections PATCH calls of at most 200
// records, allOrNone false, and returns each record's result in order. A
// record's failure is in its SaveResult, not in the error. If a call fails,
// the results of the calls before it are returned with the error.
func (c *Client) UpdateRecords(ctx context.Context, sobjectType string, records []map[string]any) ([]SaveResult, error) {
	return c.saveRecords(ctx, http.MethodPatch, sobjectType, records)
}

// CreateRecords creates records of sobjectType with sObject Collections POST
// calls, as UpdateRecords does. A created record's id is its SaveResult.ID.
func (c *Client) CreateRecords(ctx context.Context, sobjectType string, records []map[string]any) ([]SaveResult, error) {
	return c.saveRecords(ctx, http.MethodPost, sobjectType, records)
}

func (c *Client) saveRecords(ctx context.Context, method, sobjectType string, records []map[string]any) ([]SaveResult, error) {
	if sobjectType == "" {
		return nil, errors.New("salesforce: save records: sObject type is required")
	}
	results := make([]SaveResult, 0, len(records))
	for start := 0; start < len(records); start += MaxCollectionRecords {
		batch := records[start:min(start+MaxCollectionRecords, len(records))]
		body := collectionRequest{Records: make([]map[string]any, len(batch))}
		for i, r := range batch {
			rec := maps.Clone(r) // the caller's maps are not changed
			if rec == nil {
				rec = map[string]any{}
			}
			rec["attributes"] = map[string]string{"type": sobjectType}
			body.Records[i] = rec
		}
		var got []SaveResult
		if err := c.do(ctx, method, c.dataPath("composite/sobjects"), body, &got); err != nil {
			return results, fmt.Errorf("salesforce: save %s records %d to %d: %w", sobjectType, start+1, start+len(batch), err)
		}
		if len(got) != len(batch) {
			return results, fmt.Errorf("salesforce: save %s records %d to %d: got %d results for %d records", sobjectType, start+1, start+len(batch), len(got), len(batch))
		}
		results = append(results, got...)
	}
	return results, nil
}
