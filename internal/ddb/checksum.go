package ddb

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// checksummed is the HTTP client of a DynamoDB client: it asks for the
// answer uncompressed (Accept-Encoding: identity, as the SDK's DynamoDB
// client does, so that Go's transport does not ask for gzip itself) and
// checks the answer's body against its X-Amz-Crc32 header, the CRC32 (IEEE)
// of the body as sent. A body that does not match is an error of the
// request, which the retryer retries as a connection that broke.
type checksummed struct{ next aws.HTTPClient }

func (c checksummed) Do(req *http.Request) (*http.Response, error) {
	req.Header.Set("Accept-Encoding", "identity")
	next := c.next
	if next == nil {
		next = http.DefaultClient
	}
	resp, err := next.Do(req)
	if err != nil {
		return nil, err
	}
	header := resp.Header.Get("X-Amz-Crc32")
	if header == "" {
		return resp, nil
	}
	want, err := strconv.ParseUint(header, 10, 32)
	if err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("X-Amz-Crc32 %q is not a CRC32", header)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if got := crc32.ChecksumIEEE(body); got != uint32(want) {
		return nil, fmt.Errorf("the answer's body has CRC32 %d, its X-Amz-Crc32 says %d: damaged on the way", got, want)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
