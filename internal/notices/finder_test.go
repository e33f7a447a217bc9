package notices_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/notices"
	"github.com/dcs-access/dcs-access/internal/testenv"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// These tests run the finder on DynamoDB Local (the store and its sparse
// index are the real ones) with a recording bus and a test clock.

// published is one event the bus received.
type published struct {
	DetailType string
	Detail     notices.Detail
	Raw        string // the detail as JSON
}

// bus records what is published; fail, when set, decides per event
// whether it is refused. delay widens the window between a claim and its
// record, so that racing runs meet there.
type bus struct {
	mu     sync.Mutex
	events []published
	fail   func(d notices.Detail) error
	delay  time.Duration
}

func (b *bus) Publish(_ context.Context, detailType string, detail any) error {
	time.Sleep(b.delay)
	d := detail.(notices.Detail)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		if err := b.fail(d); err != nil {
			return err
		}
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	b.events = append(b.events, published{detailType, d, string(raw)})
	return nil
}

// got returns what was published since the last call, as "<noticeId>".
func (b *bus) got() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.events {
		out = append(out, e.Detail.NoticeID)
	}
	b.events = nil
	slices.Sort(out)
	return out
}

type world struct {
	client *dynamodb.Client
	table  string
	clock  *testenv.Clock
	store  *dynamo.Store
	bus    *bus
	finder *notices.Finder
}

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func newWorld(t *testing.T) *world {
	t.Helper()
	storeClient, table := testenv.Table(t)
	w := &world{client: testenv.DynamoDB(t), table: table, clock: testenv.NewClock(t0), bus: &bus{}}
	w.store = dynamo.New(storeClient, table, w.clock.Now)
	w.finder = &notices.Finder{Store: w.store, Publisher: w.bus, Now: w.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return w
}

// create stores a token made now with a lifespan of lifespan days (0: it
// never expires), as the tokens service does.
func (w *world) create(t *testing.T, tenant string, lifespan int) access.Token {
	t.Helper()
	now := w.clock.Now().UTC().Truncate(time.Second)
	tok := access.Token{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tenant, Description: "token " + uuid.NewString()[:8],
		AssociatedUser: "ada@example.com", CreatedAt: now}
	if lifespan > 0 {
		exp := now.AddDate(0, 0, lifespan)
		tok.ExpiresAt = &exp
	}
	if err := w.store.Create(context.Background(), tok, access.DefaultPolicy(), audittest.TokenCreated(tok.Tenant, tok.ID)); err != nil {
		t.Fatal(err)
	}
	return tok
}

// run runs the finder once and fails the test on an error.
func (w *world) run(t *testing.T) notices.Report {
	t.Helper()
	r, err := w.finder.Run(context.Background())
	if err != nil {
		t.Fatalf("run at %s: %v", w.clock.Now().Format(time.RFC3339), err)
	}
	return r
}

// at moves the clock to when.
func (w *world) at(when time.Time) { w.clock.Add(when.Sub(w.clock.Now())) }

// step is a time to run the finder at, and the notices it must send then.
type step struct {
	at   time.Time
	want []string
}

// walk runs the finder at each step's time.
func (w *world) walk(t *testing.T, steps []step) {
	t.Helper()
	for _, s := range steps {
		w.at(s.at)
		w.run(t)
		want(t, w.bus.got(), s.want...)
	}
}

func id(tok access.Token, n notices.Notice) string { return tok.ID + "/" + n.String() }

func want(t *testing.T, got []string, want ...string) {
	t.Helper()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("at this step: got notices %q, want %q", got, want)
	}
}

func TestEachNoticeIsSentOnceAtItsTime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tok := w.create(t, "acme", 30)
	exp := *tok.ExpiresAt
	w.walk(t, []step{
		{t0, nil},
		{exp.Add(-days(7) - time.Second), nil},
		{exp.Add(-days(7)), []string{id(tok, notices.Expiring7Days)}},
		{exp.Add(-days(7)), nil}, // the same run again
		{exp.Add(-days(7) + time.Hour), nil},
		{exp.Add(-days(1) - time.Second), nil},
		{exp.Add(-days(1)), []string{id(tok, notices.Expiring1Day)}},
		{exp.Add(-time.Second), nil},
		{exp, []string{id(tok, notices.Expired)}},
		{exp, nil},
		{exp.Add(days(1)), nil},
		{exp.Add(days(29)), nil},
	})
	// Every notice sent, the token has left the index.
	if p, err := w.store.PendingNotices(context.Background(), exp.Add(days(1))); err != nil || len(p) != 0 {
		t.Fatalf("got pending %+v, %v after the last notice, want none", p, err)
	}
}

func TestANoticeSaysWhichTokenAndNothingMore(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tok := w.create(t, "acme", 1) // its 1-day notice is due as it is made
	w.run(t)
	w.bus.mu.Lock()
	defer w.bus.mu.Unlock()
	if len(w.bus.events) != 1 {
		t.Fatalf("got %d events, want the 1-day notice", len(w.bus.events))
	}
	e := w.bus.events[0]
	wantRaw := fmt.Sprintf(`{"tokenId":%q,"description":%q,"user":"ada@example.com","tenant":"acme","expiresAt":%q,"notice":"expiring-1-day","noticeId":%q}`,
		tok.ID, tok.Description, tok.ExpiresAt.Format(time.RFC3339), id(tok, notices.Expiring1Day))
	if e.DetailType != "API Token Expiring" || e.Raw != wantRaw {
		t.Fatalf("got %s %s, want API Token Expiring %s", e.DetailType, e.Raw, wantRaw)
	}
}

func TestShortLifespansGetTheNoticesWithinTheirLife(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	seven, three, one := w.create(t, "acme", 7), w.create(t, "acme", 3), w.create(t, "acme", 1)
	w.walk(t, []step{
		// As they are made: the 7-day token's 7-day notice, the 1-day token's 1-day notice.
		{t0, []string{id(seven, notices.Expiring7Days), id(one, notices.Expiring1Day)}},
		{t0.Add(days(1)), []string{id(one, notices.Expired)}},
		{t0.Add(days(2)), []string{id(three, notices.Expiring1Day)}},
		{t0.Add(days(3)), []string{id(three, notices.Expired)}},
		{t0.Add(days(6)), []string{id(seven, notices.Expiring1Day)}},
		{t0.Add(days(7)), []string{id(seven, notices.Expired)}},
	})
}

func TestALateRunSendsTheLatestNoticeOnly(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	month, tenDays := w.create(t, "acme", 30), w.create(t, "acme", 10)
	// No run from the tokens' creation until an hour after the month
	// token's 1-day notice: its 7-day notice is not worth sending any more,
	// nor are the ten-day token's two "Expiring" ones after it expired.
	w.walk(t, []step{
		{month.ExpiresAt.Add(-days(1) + time.Hour), []string{id(month, notices.Expiring1Day), id(tenDays, notices.Expired)}},
		{*month.ExpiresAt, []string{id(month, notices.Expired)}},
	})
}

func TestAFinderDownForAlmostThePurgeTimeStillSendsExpired(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tok := w.create(t, "acme", 8)
	w.walk(t, []step{{tok.ExpiresAt.Add(dynamo.PurgeAfter - time.Hour), []string{id(tok, notices.Expired)}}})
}

func TestRepeatedAndConcurrentRunsSendEachNoticeOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.bus.delay = 5 * time.Millisecond // runs meet between a claim and its record
	var toks []access.Token
	for i := range 12 {
		toks = append(toks, w.create(t, fmt.Sprintf("tenant-%d", i%3), 10+i%3))
	}
	// At each time a notice is due, and an hour later, six runs at once, as
	// retried and duplicated invocations are.
	var times []time.Time
	for _, tok := range toks {
		for n := notices.Expiring7Days; n < notices.Done; n++ {
			times = append(times, n.DueAt(*tok.ExpiresAt), n.DueAt(*tok.ExpiresAt).Add(time.Hour))
		}
	}
	slices.SortFunc(times, time.Time.Compare)
	count := map[string]int{}
	for _, at := range slices.Compact(times) {
		w.at(at)
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = w.finder.Run(context.Background())
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("at %s: %v", at, err)
		}
		for _, n := range w.bus.got() {
			count[n]++
		}
	}
	for _, tok := range toks {
		for n := notices.Expiring7Days; n < notices.Done; n++ {
			if c := count[id(tok, n)]; c != 1 {
				t.Errorf("token %s: %s sent %d times, want once", tok.ID, n, c)
			}
		}
	}
	if len(count) != 3*len(toks) {
		t.Errorf("got %d distinct notices, want %d", len(count), 3*len(toks))
	}
}

func TestADeletedTokenGetsNoNotices(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	deleted, kept := w.create(t, "acme", 30), w.create(t, "acme", 30)
	if err := w.store.Delete(context.Background(), "acme", deleted.ID, tokens.Deleter{}, audittest.TokenDeleted("acme", deleted.ID)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, at := range []time.Time{kept.ExpiresAt.Add(-days(7)), kept.ExpiresAt.Add(-days(1)), *kept.ExpiresAt} {
		w.at(at)
		p, err := w.store.PendingNotices(context.Background(), at)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p {
			if e.Token.ID == deleted.ID {
				t.Fatalf("the deleted token is still in the expiry index: %+v", e)
			}
		}
		w.run(t)
		got = append(got, w.bus.got()...)
	}
	// The other token, made with it, got all three.
	want(t, got, id(kept, notices.Expiring7Days), id(kept, notices.Expiring1Day), id(kept, notices.Expired))
}

// deleteAfterFind deletes a token between the finder's query and its claim,
// as a user might while a run is under way.
type deleteAfterFind struct {
	*dynamo.Store
	tenant, id string
}

func (d deleteAfterFind) PendingNotices(ctx context.Context, now time.Time) ([]notices.Pending, error) {
	p, err := d.Store.PendingNotices(ctx, now)
	if err == nil {
		err = d.Store.Delete(ctx, d.tenant, d.id, tokens.Deleter{}, audittest.TokenDeleted(d.tenant, d.id))
	}
	return p, err
}

func TestATokenDeletedDuringARunGetsNoNotice(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tok := w.create(t, "acme", 1)
	w.finder.Store = deleteAfterFind{w.store, "acme", tok.ID}
	r := w.run(t)
	want(t, w.bus.got())
	if r.Due != 1 || r.Skipped != 1 {
		t.Fatalf("got %+v, want the one token found and skipped", r)
	}
}

// reExpireAfterFind moves a token's expiry between the finder's query and
// its claim, as a later change to the token (a rotation) might.
type reExpireAfterFind struct {
	*dynamo.Store
	w   *world
	tok access.Token
	to  time.Time
}

func (r reExpireAfterFind) PendingNotices(ctx context.Context, now time.Time) ([]notices.Pending, error) {
	p, err := r.Store.PendingNotices(ctx, now)
	if err == nil {
		_, err = r.w.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &r.w.table,
			Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "TENANT#" + r.tok.Tenant}, "sk": &types.AttributeValueMemberS{Value: "TOKEN#" + r.tok.ID},
			},
			UpdateExpression:          aws.String("SET expiresAt = :to"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":to": &types.AttributeValueMemberS{Value: r.to.Format(time.RFC3339)}},
		})
	}
	return p, err
}

func TestATokenWhoseExpiryChangedIsNotNotifiedForTheOldOne(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tok := w.create(t, "acme", 1)
	w.finder.Store = reExpireAfterFind{w.store, w, tok, tok.ExpiresAt.AddDate(0, 0, 30)}
	r := w.run(t)
	want(t, w.bus.got())
	if r.Due != 1 || r.Skipped != 1 {
		t.Fatalf("got %+v, want the one token found and skipped", r)
	}
}

func TestATokenThatNeverExpiresGetsNoNotices(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.create(t, "acme", 0)
	control := w.create(t, "acme", 1)
	var got []string
	for _, at := range []time.Time{t0, t0.Add(days(1)), t0.Add(days(400)), t0.Add(days(3650))} {
		w.at(at)
		w.run(t)
		got = append(got, w.bus.got()...)
	}
	// The same runs found the token that expires, and only it.
	want(t, got, id(control, notices.Expiring1Day), id(control, notices.Expired))
}

func TestAFailedPublishIsSentByTheNextRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tok := w.create(t, "acme", 1)
	w.bus.fail = func(notices.Detail) error { return errors.New("EventBridge is down") }
	r, err := w.finder.Run(context.Background())
	if err == nil || r.Failed != 1 || r.Sent != 0 {
		t.Fatalf("got %+v, %v; want the run to fail with the notice left", r, err)
	}
	want(t, w.bus.got())
	w.bus.fail = nil
	w.clock.Add(time.Minute) // the next run, well within the claim's lease
	w.run(t)
	want(t, w.bus.got(), id(tok, notices.Expiring1Day))
	w.run(t)
	want(t, w.bus.got())
}

// failingRelease cannot give claims back, as a run that dies right after a
// failed publish does not.
type failingRelease struct{ *dynamo.Store }

func (failingRelease) ReleaseNotice(context.Context, notices.Pending, notices.Claim) error {
	return errors.New("DynamoDB is unreachable")
}

func TestANoticeWhoseRunDiedIsSentOnceItsClaimExpires(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tok := w.create(t, "acme", 1)
	w.finder.Store = failingRelease{w.store}
	w.bus.fail = func(notices.Detail) error { return errors.New("EventBridge is down") }
	if _, err := w.finder.Run(context.Background()); err == nil {
		t.Fatal("the run did not fail")
	}
	w.finder.Store, w.bus.fail = w.store, nil
	w.walk(t, []step{
		{t0.Add(notices.ClaimLease - time.Second), nil}, // still claimed
		{t0.Add(notices.ClaimLease + time.Second), []string{id(tok, notices.Expiring1Day)}},
	})
}

func TestARunThatDiesAfterItsClaimLosesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tok := w.create(t, "acme", 1)
	p, err := w.store.PendingNotices(context.Background(), t0)
	if err != nil || len(p) != 1 {
		t.Fatalf("got %+v, %v; want the one token", p, err)
	}
	// A run claims the notice and is gone before it publishes.
	if _, won, err := w.store.ClaimNotice(context.Background(), p[0], notices.Claim{ID: "dead-run", Notice: notices.Expiring1Day, Until: t0.Add(notices.ClaimLease)}, t0); err != nil || !won {
		t.Fatalf("claim: %v, %v", won, err)
	}
	w.walk(t, []step{
		{t0, nil},
		{t0.Add(notices.ClaimLease - time.Second), nil},
		{t0.Add(notices.ClaimLease + time.Second), []string{id(tok, notices.Expiring1Day)}},
	})
}

// unrecorded publishes but cannot record, as a run that dies between the
// bus's answer and its record.
type unrecorded struct{ *dynamo.Store }

func (unrecorded) RecordNotice(context.Context, notices.Pending, notices.Claim, time.Time) error {
	return errors.New("the function timed out")
}

func TestARunThatDiesAfterPublishingRepeatsTheNoticeWithTheSameID(t *testing.T) {
	t.Parallel()
	// The side this design errs on (docs/security.md): a repeat, never a loss.
	w := newWorld(t)
	tok := w.create(t, "acme", 1)
	w.finder.Store = unrecorded{w.store}
	if _, err := w.finder.Run(context.Background()); err == nil {
		t.Fatal("the run did not fail")
	}
	want(t, w.bus.got(), id(tok, notices.Expiring1Day))
	w.finder.Store = w.store
	w.walk(t, []step{
		{t0.Add(notices.ClaimLease + time.Second), []string{id(tok, notices.Expiring1Day)}},
		{t0.Add(notices.ClaimLease + time.Second), nil},
	})
}
