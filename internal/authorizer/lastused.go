package authorizer

import (
	"context"
	"net/netip"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
)

// UseRecordInterval is how often, at most, a token's last use is written:
// a busy token costs one write per interval, never one per request.
const UseRecordInterval = 5 * time.Minute

// useWriteTimeout bounds the write. It runs after the answer, so it delays
// no caller, only the next invocation of the same Lambda environment.
const useWriteTimeout = 2 * time.Second

// UseStore records a token's last use with one conditional write (the
// DynamoDB store's RecordUse): only when the token still exists and its
// record is missing or at or before replacesUpTo.
type UseStore interface {
	RecordUse(ctx context.Context, tenant, id string, at time.Time, ip string, replacesUpTo time.Time) (recorded bool, err error)
}

// recordUse records that t was allowed now, from sourceIP (the REQUEST
// event's requestContext.identity.sourceIp), unless the decision's own read
// shows a use within UseRecordInterval: then there is nothing to write, and
// no request is made. Concurrent decisions that all read an old record each
// try, and the write's condition lets exactly one through.
//
// Where the write runs, and why: never before the answer, which it would
// delay by a DynamoDB round trip (as long again as the decision's read), and
// never in a goroutine left running when the handler returns, which Lambda
// freezes mid-flight. It is handed to AfterResponse, which in Lambda is an
// internal extension that runs it after Lambda has returned the answer
// (internal/afterresponse). Issuing it concurrently with the decision's read
// instead would hide its latency but write on every request (the read is
// what says whether a write is due), and a failed conditional write is
// billed as a write. The write can only fail to happen (logged, without the
// token): the decision is made and answered before it starts.
func (a *Authorizer) recordUse(t access.Token, sourceIP string) {
	if a.Uses == nil {
		return
	}
	now := a.Now()
	replacesUpTo := now.Add(-UseRecordInterval)
	if t.LastUsedAt != nil && t.LastUsedAt.After(replacesUpTo) {
		return
	}
	ip := "" // only an address API Gateway gave, in its canonical form
	if addr, err := netip.ParseAddr(sourceIP); err == nil {
		ip = addr.String()
	}
	work := func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, useWriteTimeout)
		defer cancel()
		if _, err := a.Uses.RecordUse(ctx, t.Tenant, t.ID, now, ip, replacesUpTo); err != nil {
			a.Log.ErrorContext(ctx, "recording the token's last use failed; the decision stands", "tokenId", t.ID, "error", err)
		}
	}
	if a.AfterResponse == nil {
		work(context.Background())
		return
	}
	a.AfterResponse(work)
}
