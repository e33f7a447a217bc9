package dynamo_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// ownerOnlyDelete through the tokens service on DynamoDB Local: the
// token is read once (by the store, for its description), and the delete's
// own condition on the token's user decides.

// readCounter counts the GetItem calls of each sort key's kind ("TOKEN",
// "POLICY"), and runs beforeDelete, once, before the next transaction that
// deletes a token.
type readCounter struct {
	*changeBeforeTokenWrite
	reads        map[string]int
	beforeDelete func()
}

func (c *readCounter) GetItem(ctx context.Context, in *ddb.GetItemInput) (*ddb.GetItemOutput, error) {
	sk := in.Key["sk"].(*types.AttributeValueMemberS).Value
	kind, _, _ := strings.Cut(sk, "#")
	c.reads[kind]++
	return c.Client.GetItem(ctx, in)
}

func (c *readCounter) TransactWriteItems(ctx context.Context, in *ddb.TransactWriteItemsInput) (*ddb.TransactWriteItemsOutput, error) {
	if f := c.beforeDelete; f != nil && in.TransactItems[0].Delete != nil {
		c.beforeDelete = nil
		f()
	}
	return c.changeBeforeTokenWrite.TransactWriteItems(ctx, in)
}

// ownerRace is a policyRace whose tokens service reads through a
// readCounter, under ownerOnlyDelete, with one token of Ada's.
func ownerRace(t *testing.T) (*policyRace, *readCounter, tokens.Created) {
	t.Helper()
	r := newPolicyRace(t)
	policy := everything
	policy.OwnerOnlyDelete = true
	r.set(t, policy)
	adas, err := r.tokens.Create(context.Background(), session("ada@example.com"), tokens.CreateInput{Description: "Ada's"})
	if err != nil {
		t.Fatal(err)
	}
	counter := &readCounter{changeBeforeTokenWrite: r.client, reads: map[string]int{}}
	st := dynamo.New(counter, r.table, func() time.Time { return t0 })
	r.tokens.Store, r.tokens.Rotations = st, st
	return r, counter, adas
}

func TestUnderOwnerOnlyDeleteTheDeletesConditionDecidesAfterOneReadOfTheToken(t *testing.T) {
	colleague := session("grace@example.com")
	colleaguesToken := access.Principal{User: "grace@example.com", Tenant: "acme", AuthType: access.AuthAPIToken, TokenID: "t3"}
	adasToken := access.Principal{User: "ada@example.com", Tenant: "acme", AuthType: access.AuthAPIToken, TokenID: "t2"}
	for name, tc := range map[string]struct {
		p       access.Principal
		deleted bool
		reads   map[string]int
	}{
		// An administrator's delete reads no policy: whoever's the token is.
		"an administrator":          {acmeAdmin, true, map[string]int{"TOKEN": 1}},
		"the owner":                 {session("ada@example.com"), true, map[string]int{"POLICY": 1, "TOKEN": 1}},
		"one of the owner's tokens": {adasToken, true, map[string]int{"POLICY": 1, "TOKEN": 1}},
		"a colleague":               {colleague, false, map[string]int{"POLICY": 1, "TOKEN": 1}},
		"a colleague's token":       {colleaguesToken, false, map[string]int{"POLICY": 1, "TOKEN": 1}},
	} {
		t.Run(name, func(t *testing.T) {
			r, counter, adas := ownerRace(t)
			err := r.tokens.Delete(context.Background(), tc.p, adas.ID)
			if !maps.Equal(counter.reads, tc.reads) {
				t.Errorf("got reads %v, want %v", counter.reads, tc.reads)
			}
			_, gerr := r.store.Get(context.Background(), "acme", adas.ID)
			deletes := auditEvents(t, r.store, "acme", audit.TokenDeleted)
			if tc.deleted {
				if err != nil || access.ErrorKind(gerr) != access.ENOTFOUND || len(deletes) != 1 {
					t.Fatalf("got %v (the token: %v, %d events), want it deleted with its event", err, gerr, len(deletes))
				}
				return
			}
			e := access.AsError(err)
			if e.Kind != access.EFORBIDDEN || e.Code != tokens.CodeNotOwner || !strings.Contains(e.Message, "(ada@example.com)") {
				t.Fatalf("got %v, want 403 NOT_TOKEN_OWNER naming ada@example.com", err)
			}
			if gerr != nil || len(deletes) != 0 {
				t.Fatalf("got the token: %v, %d delete events, want it kept, with none", gerr, len(deletes))
			}
			// Nor was its description freed.
			if _, err := r.tokens.Create(context.Background(), session("ada@example.com"), tokens.CreateInput{Description: "ada's"}); access.AsError(err).Code != tokens.CodeDescriptionTaken {
				t.Fatalf("its description: got %v, want it still taken", err)
			}
		})
	}
}

// A token deleted between the store's read and its conditional delete is
// not found, not another user's: the failed condition returns no item.
func TestATokenDeletedMeanwhileIsNotFoundForTheOwnerOrAColleague(t *testing.T) {
	for _, user := range []string{"ada@example.com", "grace@example.com"} {
		t.Run(user, func(t *testing.T) {
			r, counter, adas := ownerRace(t)
			counter.beforeDelete = func() {
				if err := r.store.Delete(context.Background(), "acme", adas.ID, tokens.Deleter{}, audittest.TokenDeleted("acme", adas.ID)); err != nil {
					t.Fatalf("the concurrent delete: %v", err)
				}
			}
			err := r.tokens.Delete(context.Background(), session(user), adas.ID)
			if counter.beforeDelete != nil {
				t.Fatal("nothing was deleted in between: the test tested nothing")
			}
			if e := access.AsError(err); e.Kind != access.ENOTFOUND || e.Code != "NOT_FOUND" {
				t.Fatalf("got %v, want 404 NOT_FOUND", err)
			}
			if n := len(auditEvents(t, r.store, "acme", audit.TokenDeleted)); n != 1 {
				t.Fatalf("got %d delete events, want the concurrent delete's alone", n)
			}
		})
	}
}

func TestAnUnknownTokenIsNotFoundUnderOwnerOnlyDelete(t *testing.T) {
	r, _, _ := ownerRace(t)
	if e := access.AsError(r.tokens.Delete(context.Background(), session("grace@example.com"), tokens.NewID())); e.Kind != access.ENOTFOUND || e.Code != "NOT_FOUND" {
		t.Fatalf("got %v, want 404 NOT_FOUND", e)
	}
}
