package tokens

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/apitoken"
	"github.com/dcs-access/dcs-access/internal/audit"
)

// Limits and names of leak revocation (POST /api-tokens/revoke).
const (
	// MaxLeakReport is how many tokens one report may carry.
	MaxLeakReport = 100
	// LeakAnswerFloor and LeakAnswerPerToken are how long a report takes
	// to answer at the least: the floor, and as much again per token sent
	// (which the caller knows anyway), whatever the tokens were. Long
	// enough for every token to be valid (a read, a transaction and an
	// event each, leakConcurrency at a time: docs/performance.md), so that
	// the answer's timing does not tell valid tokens from others.
	LeakAnswerFloor    = time.Second
	LeakAnswerPerToken = 15 * time.Millisecond
	// RevokedAsLeakedEvent is the detail-type of the event each revoked
	// token puts on the stack's bus.
	RevokedAsLeakedEvent = "API Token Revoked As Leaked"
	leakConcurrency      = 20
)

// TokenVerifier checks an API token's signature, issuer and key id: the
// authorizer's own verifier (apitoken.Verifier), so that exactly the tokens
// it would accept can be revoked.
type TokenVerifier interface {
	Verify(raw string) (*apitoken.Claims, error)
}

// RevokeStore deletes a token as DELETE /api-tokens/{id} does, with its
// audit event ev, and returns the record it deleted (ENOTFOUND when there
// was none).
type RevokeStore interface {
	Revoke(ctx context.Context, tenant, id string, ev audit.Event) (access.Token, error)
}

// Publisher puts an event on the stack's bus (internal/eventbus).
type Publisher interface {
	Publish(ctx context.Context, detailType string, detail any) error
}

// RevokedAsLeaked is the detail of RevokedAsLeakedEvent: which token, and
// whose, so the owner's tenant can act. Never the token itself.
type RevokedAsLeaked struct {
	TokenID     string `json:"tokenId"`
	Tenant      string `json:"tenant"`
	Description string `json:"description"`
	User        string `json:"user"`
}

// Leaks revokes tokens that anyone reports as leaked, without credentials
// (as GitHub's credential revocation API does). Nothing it answers depends
// on which tokens were valid: the caller learns only that the report was
// taken, and no sooner than its floor after it came.
type Leaks struct {
	Verifier TokenVerifier
	Store    RevokeStore
	Bus      Publisher
	Now      func() time.Time
	Floor    time.Duration                              // LeakAnswerFloor in the function
	PerToken time.Duration                              // LeakAnswerPerToken in the function
	Wait     func(ctx context.Context, d time.Duration) // sleeps d (or until ctx ends)
	Log      *slog.Logger                               // nil: slog.Default() when it logs
}

func (l *Leaks) log() *slog.Logger {
	if l.Log == nil {
		return slog.Default()
	}
	return l.Log
}

// ErrInvalidLeakReport is the error for a report with no token or too many.
func ErrInvalidLeakReport() *access.Error {
	return access.Errorf(access.EINVALID, "INVALID_TOKENS", "tokens must list 1 to %d tokens.", MaxLeakReport)
}

// Revoke verifies every token in raws and revokes each valid one, then
// announces it. The answer comes no sooner than Floor, plus PerToken for
// each token sent, after the call, for
// valid, invalid, forged and already revoked tokens alike, so neither its
// content nor its timing is an oracle; a store that fails is the one
// exception (503, since the revocation must be retried), and says only that
// some token verified. A failed event is logged: the revocation stands.
func (l *Leaks) Revoke(ctx context.Context, raws []string) error {
	if len(raws) == 0 || len(raws) > MaxLeakReport {
		return ErrInvalidLeakReport()
	}
	start := l.Now()
	floor := l.Floor + time.Duration(len(raws))*l.PerToken
	defer func() {
		if rest := floor - l.Now().Sub(start); rest > 0 {
			l.Wait(ctx, rest)
		}
	}()
	// Every token is verified, none skipped after a failure; a token sent
	// twice is revoked once.
	valid := map[[2]string]bool{}
	var order [][2]string
	for _, raw := range raws {
		claims, err := l.Verifier.Verify(raw)
		if err != nil {
			continue
		}
		k := [2]string{claims.Tenant, claims.ID}
		if !valid[k] {
			valid[k] = true
			order = append(order, k)
		}
	}
	var mu sync.Mutex
	var failed error
	var wg sync.WaitGroup
	slots := make(chan struct{}, leakConcurrency)
	for _, k := range order {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := l.revoke(ctx, k[0], k[1]); err != nil {
				mu.Lock()
				failed = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return failed
}

// revoke deletes one verified token and announces it; a token already gone
// is no error and no event. Whoever reported it is anonymous: its audit
// event names the request only.
func (l *Leaks) revoke(ctx context.Context, tenant, id string) error {
	ev := audit.New(ctx, tenant, audit.Actor{Type: audit.ActorAnonymous}, audit.TokenRevokedAsLeaked, audit.Target{Type: audit.TargetToken, ID: id}, l.Now())
	t, err := l.Store.Revoke(ctx, tenant, id, ev)
	switch {
	case access.ErrorKind(err) == access.ENOTFOUND:
		return nil
	case err != nil:
		l.log().ErrorContext(ctx, "revoking a leaked token failed", "tokenId", id, "tenant", tenant, "error", err)
		return err
	}
	l.log().InfoContext(ctx, "token revoked as leaked", "tokenId", id, "tenant", tenant)
	detail := RevokedAsLeaked{TokenID: t.ID, Tenant: t.Tenant, Description: t.Description, User: t.AssociatedUser}
	if err := l.Bus.Publish(ctx, RevokedAsLeakedEvent, detail); err != nil {
		l.log().ErrorContext(ctx, "the leaked token is revoked, but its event was not published", "tokenId", id, "tenant", tenant, "error", err)
	}
	return nil
}

// Sleep waits d, or until ctx ends: Leaks.Wait in the function.
func Sleep(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
