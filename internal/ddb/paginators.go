package ddb

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// QueryAPI is what a QueryPaginator calls: a *Client, or a test's wrapper.
type QueryAPI interface {
	Query(ctx context.Context, in *QueryInput) (*QueryOutput, error)
}

// ScanAPI is what a ScanPaginator calls.
type ScanAPI interface {
	Scan(ctx context.Context, in *ScanInput) (*ScanOutput, error)
}

// pages is where a paginator is: the key to start the next page from,
// and whether the first page was read.
type pages struct {
	next    map[string]types.AttributeValue
	started bool
}

// more reports whether a page is left: the first, or one after a page
// that had a LastEvaluatedKey.
func (p *pages) more() bool { return !p.started || len(p.next) != 0 }

var errNoMorePages = errors.New("no more pages available")

// QueryPaginator reads a query page by page, as the SDK's does: each page
// starts at the previous page's LastEvaluatedKey, the first at the input's
// ExclusiveStartKey.
type QueryPaginator struct {
	client QueryAPI
	in     QueryInput
	pages
}

// NewQueryPaginator returns a paginator of in, which it does not change.
func NewQueryPaginator(client QueryAPI, in *QueryInput) *QueryPaginator {
	return &QueryPaginator{client: client, in: *in, pages: pages{next: in.ExclusiveStartKey}}
}

// HasMorePages reports whether NextPage has a page to read.
func (p *QueryPaginator) HasMorePages() bool { return p.more() }

// NextPage reads the next page.
func (p *QueryPaginator) NextPage(ctx context.Context) (*QueryOutput, error) {
	if !p.more() {
		return nil, errNoMorePages
	}
	in := p.in
	in.ExclusiveStartKey = p.next
	out, err := p.client.Query(ctx, &in)
	if err != nil {
		return nil, err
	}
	p.next, p.started = out.LastEvaluatedKey, true
	return out, nil
}

// ScanPaginator reads a scan page by page, as QueryPaginator a query.
type ScanPaginator struct {
	client ScanAPI
	in     ScanInput
	pages
}

// NewScanPaginator returns a paginator of in, which it does not change.
func NewScanPaginator(client ScanAPI, in *ScanInput) *ScanPaginator {
	return &ScanPaginator{client: client, in: *in, pages: pages{next: in.ExclusiveStartKey}}
}

// HasMorePages reports whether NextPage has a page to read.
func (p *ScanPaginator) HasMorePages() bool { return p.more() }

// NextPage reads the next page.
func (p *ScanPaginator) NextPage(ctx context.Context) (*ScanOutput, error) {
	if !p.more() {
		return nil, errNoMorePages
	}
	in := p.in
	in.ExclusiveStartKey = p.next
	out, err := p.client.Scan(ctx, &in)
	if err != nil {
		return nil, err
	}
	p.next, p.started = out.LastEvaluatedKey, true
	return out, nil
}
