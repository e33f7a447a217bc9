package notices

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
)

// ClaimLease is how long a claim keeps other runs off a notice. It must
// outlast the invocation that made the claim (templatecheck holds the
// function's Timeout below it), so a claim expires only when its run has
// ended without recording the notice: then the next run sends it.
const ClaimLease = 10 * time.Minute

// publishTimeout bounds one notice's publish and record, so a hung call
// cannot hold the whole run.
const publishTimeout = 20 * time.Second

// Pending is a token whose next notice may be due, as the index shows it.
type Pending struct {
	Token access.Token // its ExpiresAt is set
	Next  Notice       // the first notice not sent yet
}

// Claim is one run's hold on one notice of a token.
type Claim struct {
	ID     string    // the run's claim id
	Notice Notice    // the notice being sent
	Until  time.Time // when other runs may take it over
}

// ErrClaimLost is what RecordNotice and ReleaseNotice return when the claim
// is no longer the run's: the token was deleted meanwhile, or its lease ran
// out and another run took the notice.
var ErrClaimLost = errors.New("the notice's claim is no longer this run's")

// Store is where a token's notices are kept: in its own item, so a deleted
// token takes them with it.
type Store interface {
	// PendingNotices returns the tokens of every tenant whose next notice is
	// due at now, from an index that may lag behind the items by a moment:
	// ClaimNotice checks the item itself.
	PendingNotices(ctx context.Context, now time.Time) ([]Pending, error)
	// ClaimNotice takes c.Notice of p's token for the run, if the token
	// still exists, still expires when p says, has not sent p.Next yet, and
	// no unexpired claim holds it; false, with no error, when it does not.
	// It returns the token as its item is now.
	ClaimNotice(ctx context.Context, p Pending, c Claim, now time.Time) (access.Token, bool, error)
	// RecordNotice records c.Notice as sent and releases the claim: the
	// token's next notice is the one after it (none after Expired).
	RecordNotice(ctx context.Context, p Pending, c Claim, now time.Time) error
	// ReleaseNotice gives the claim up unsent, so the next run sends it.
	ReleaseNotice(ctx context.Context, p Pending, c Claim) error
}

// Publisher puts events on the stack's bus.
type Publisher interface {
	Publish(ctx context.Context, detailType string, detail any) error
}

// Finder sends the notices that are due.
type Finder struct {
	Store     Store
	Publisher Publisher
	Now       func() time.Time
	NewID     func() string // claim ids; random when nil
	Log       *slog.Logger  // slog.Default() when nil
}

// New returns a finder on store and bus, with the real clock.
func New(store Store, bus Publisher) *Finder {
	return &Finder{Store: store, Publisher: bus, Now: time.Now}
}

// Report is what one run did.
type Report struct {
	Due     int `json:"due"`     // pending notices the index showed
	Sent    int `json:"sent"`    // published and recorded
	Skipped int `json:"skipped"` // sent already, claimed by another run, or the token is gone
	Failed  int `json:"failed"`  // left for the next run
}

// Run sends every notice that is due: for each, a conditional claim on the
// token's item, the event, and the record that it was sent. A notice whose
// publish fails is released and sent by the next run; the run then returns
// an error, so the failure is counted (the function's Errors alarm).
//
// The claim comes first so that concurrent and repeated runs never send a
// notice twice, and a run that dies after claiming loses nothing (the claim
// expires). The one duplicate left is a run that dies between the bus's
// answer and the record: the next run sends that notice again, with the
// same noticeId. A lost notice would be worse than a repeated one.
func (f *Finder) Run(ctx context.Context) (Report, error) {
	now := f.Now()
	pending, err := f.Store.PendingNotices(ctx, now)
	if err != nil {
		return Report{}, fmt.Errorf("find the notices due: %w", err)
	}
	claimID, err := f.newID()
	if err != nil {
		return Report{}, access.Internal(err)
	}
	r := Report{Due: len(pending)}
	var errs []error
	for _, p := range pending {
		n, due := Latest(*p.Token.ExpiresAt, now)
		if !due || n < p.Next {
			r.Skipped++ // the index is behind its item
			continue
		}
		sent, err := f.send(ctx, p, Claim{ID: claimID, Notice: n, Until: now.Add(ClaimLease)}, now)
		switch {
		case err != nil:
			r.Failed++
			errs = append(errs, err)
		case sent:
			r.Sent++
		default:
			r.Skipped++
		}
	}
	f.log().InfoContext(ctx, "expiry notices", "due", r.Due, "sent", r.Sent, "skipped", r.Skipped, "failed", r.Failed)
	return r, errors.Join(errs...)
}

// send claims, publishes and records one notice; false when it was not
// this run's to send.
func (f *Finder) send(ctx context.Context, p Pending, c Claim, now time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	log := f.log().With("tokenId", p.Token.ID, "tenant", p.Token.Tenant, "notice", c.Notice.String())
	token, won, err := f.Store.ClaimNotice(ctx, p, c, now)
	if err != nil || !won {
		return false, err
	}
	if c.Notice > p.Next {
		log.InfoContext(ctx, "expiry notices skipped: a later one is due", "skipped", p.Next.String())
	}
	if err := f.Publisher.Publish(ctx, c.Notice.DetailType(), DetailOf(token, c.Notice)); err != nil {
		if rerr := f.Store.ReleaseNotice(ctx, p, c); rerr != nil {
			// The claim expires by itself; the notice waits until then.
			log.WarnContext(ctx, "expiry notice not released", "error", rerr)
		}
		return false, fmt.Errorf("publish %s of token %s: %w", c.Notice, p.Token.ID, err)
	}
	err = f.Store.RecordNotice(ctx, p, c, now)
	switch {
	case errors.Is(err, ErrClaimLost):
		// Deleted since the claim, or another run took it over: sent anyway.
		log.WarnContext(ctx, "expiry notice sent, but its claim was lost", "error", err)
	case err != nil:
		// Sent, and sent again once the claim expires: the duplicate this
		// design accepts rather than a lost notice.
		return true, fmt.Errorf("record %s of token %s as sent: %w", c.Notice, p.Token.ID, err)
	}
	log.InfoContext(ctx, "expiry notice sent")
	return true, nil
}

// Tick is what the schedule sends each time (the template's Input): it
// names the tick in the log and is not otherwise used. Each run works from
// the clock, so a late or repeated tick does what a punctual one would.
type Tick struct {
	ScheduledTime string `json:"scheduledTime"`
	ExecutionID   string `json:"executionId"`
	Attempt       string `json:"attempt"`
}

// HandleTick is the scheduled function's handler.
func (f *Finder) HandleTick(ctx context.Context, tick Tick) (Report, error) {
	f.log().InfoContext(ctx, "expiry notices run", "scheduledTime", tick.ScheduledTime, "executionId", tick.ExecutionID, "attempt", tick.Attempt)
	return f.Run(ctx)
}

func (f *Finder) newID() (string, error) {
	if f.NewID != nil {
		return f.NewID(), nil
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func (f *Finder) log() *slog.Logger {
	if f.Log != nil {
		return f.Log
	}
	return slog.Default()
}
