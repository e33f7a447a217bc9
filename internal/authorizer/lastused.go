package authorizer

import (
	"context"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
)

// UseRecordInterval is how often, at most, a token's last use is written:
// a busy token costs one write per interval, never one per request.
const UseRecordInterval = 5 * time.Minute

// useWriteTimeout bounds the write. It runs after the answer, so it delays
// no caller, only the next invocation of the same Lambda environment.
const useWriteTimeout = 2 * time.Second

// UseStore records a token's use (the DynamoDB store's RecordUse and
// RecordNewIP).
type UseStore interface {
	// RecordUse records t's last use with one conditional write: only when
	// the token still exists and its record is missing or at or before
	// replacesUpTo.
	RecordUse(ctx context.Context, t access.Token, at time.Time, ip string, replacesUpTo time.Time) (recorded bool, err error)
	// RecordNewIP records t's first use from ip, whenever its last use was,
	// with its audit event ev, in one transaction, once: a concurrent
	// request that recorded it first leaves nothing to do.
	RecordNewIP(ctx context.Context, t access.Token, at time.Time, ip string, ev audit.Event) (recorded bool, err error)
}

// recordUse records that t was allowed now, for the request req (its
// source IP, in the REQUEST event's requestContext.identity.sourceIp), when
// the decision's own read shows that a record is due: no use within
// UseRecordInterval, or an address that is not among the token's recent IPs
// (t.RecentIPs, in the item the decision read: knowing costs nothing). The
// first is one conditional write; the second, a first use from a new source
// IP, is that write and the audit event, in one transaction, even within
// the interval. Otherwise there is nothing to write, and no request is
// made. Concurrent decisions that all read an old record each try, and the
// write's condition lets exactly one through.
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
// token): the decision is made and answered before it starts. A new IP whose
// record failed is new again on the token's next request, which tries again.
func (a *Authorizer) recordUse(t access.Token, req audit.Request) {
	if a.Uses == nil {
		return
	}
	now := a.Now()
	replacesUpTo := now.Add(-UseRecordInterval)
	ip := req.SourceIP // only an address API Gateway gave, in its canonical form
	newIP := ip != "" && !t.UsedFrom(ip)
	if !newIP && t.LastUsedAt != nil && t.LastUsedAt.After(replacesUpTo) {
		return
	}
	work := func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(audit.WithRequest(ctx, req), useWriteTimeout)
		defer cancel()
		var err error
		if newIP {
			ev := audit.New(ctx, t.Tenant, audit.Actor{Type: audit.ActorAPIToken, User: t.AssociatedUser, TokenID: t.ID},
				audit.TokenUsedFromNewIP, audit.Target{Type: audit.TargetToken, ID: t.ID}, now)
			_, err = a.Uses.RecordNewIP(ctx, t, now, ip, ev)
		} else {
			_, err = a.Uses.RecordUse(ctx, t, now, ip, replacesUpTo)
		}
		if err != nil {
			a.Log.ErrorContext(ctx, "recording the token's use failed; the decision stands", "tokenId", t.ID, "newIp", newIP, "error", err)
		}
	}
	if a.AfterResponse == nil {
		work(context.Background())
		return
	}
	a.AfterResponse(work)
}
