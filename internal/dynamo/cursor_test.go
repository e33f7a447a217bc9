package dynamo_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit/audittest"
	"github.com/dcs-access/dcs-access/internal/dynamo"
)

// forgeCursor builds a cursor for any id the way the store does. Nothing
// secret goes in: a client that knows the format can do the same, which is
// why these tests show what such a cursor can and cannot reach.
func forgeCursor(tenant, id string) string {
	sum := sha256.Sum256([]byte(tenant + "|" + id))
	return base64.RawURLEncoding.EncodeToString([]byte(id + "." + base64.RawURLEncoding.EncodeToString(sum[:8])))
}

// twoTenants stores n tokens each for acme and globex, created alternately
// so that their ids interleave, and returns each tenant's ids newest first.
func twoTenants(t *testing.T, st *dynamo.Store, n int) map[string][]string {
	t.Helper()
	ids := map[string][]string{}
	for i := range n {
		for _, tenant := range []string{"acme", "globex"} {
			tk := token(tenant, tenant+" token "+string(rune('a'+i)), t0)
			if err := st.Create(context.Background(), tk, access.DefaultPolicy(), audittest.TokenCreated(tk.Tenant, tk.ID)); err != nil {
				t.Fatal(err)
			}
			ids[tenant] = append([]string{tk.ID}, ids[tenant]...)
		}
	}
	return ids
}

func listAll(t *testing.T, st *dynamo.Store, tenant, cursor string) []string {
	t.Helper()
	var got []string
	for {
		items, next, err := st.List(context.Background(), tenant, 3, cursor)
		if err != nil {
			t.Fatalf("list %s from cursor %q: %v", tenant, cursor, err)
		}
		for _, it := range items {
			got = append(got, it.ID)
		}
		if next == "" {
			return got
		}
		cursor = next
	}
}

func TestAForgedCursorOnlyChoosesWhereTheCallersOwnListStarts(t *testing.T) {
	st, _, _ := newStore(t)
	ids := twoTenants(t, st, 6)
	everyID := append(slices.Clone(ids["acme"]), ids["globex"]...)
	everyID = append(everyID, "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff")
	for _, caller := range []string{"acme", "globex"} {
		for _, at := range everyID {
			t.Run(caller+" from "+at, func(t *testing.T) {
				got := listAll(t, st, caller, forgeCursor(caller, at))
				// Exactly the caller's tokens older than the cursor's id,
				// whoever's id it names: nothing of the other tenant.
				var want []string
				for _, id := range ids[caller] {
					if id < at {
						want = append(want, id)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("got %v, want %v", got, want)
				}
			})
		}
	}
}

func TestACursorIsBoundToTheTenantThatListed(t *testing.T) {
	st, _, _ := newStore(t)
	twoTenants(t, st, 3)
	_, next, err := st.List(context.Background(), "acme", 1, "")
	if err != nil || next == "" {
		t.Fatalf("got next %q, err %v; want a cursor", next, err)
	}
	for _, caller := range []string{"globex", "ACME", "acme ", "acm"} {
		t.Run(caller, func(t *testing.T) {
			_, _, err := st.List(context.Background(), caller, 10, next)
			if e := access.AsError(err); err == nil || e.Code != "INVALID_NEXT_TOKEN" {
				t.Fatalf("got %v, want INVALID_NEXT_TOKEN", err)
			}
		})
	}
}

func TestACursorNamesItsTokenInOneSpelling(t *testing.T) {
	st, _, _ := newStore(t)
	ids := twoTenants(t, st, 3)
	id := ids["acme"][0]
	if got := listAll(t, st, "acme", forgeCursor("acme", id)); !slices.Equal(got, ids["acme"][1:]) {
		t.Fatalf("the canonical spelling: got %v, want %v", got, ids["acme"][1:])
	}
	for name, spelling := range map[string]string{
		"upper case": strings.ToUpper(id),
		"braces":     "{" + id + "}",
		"a urn":      "urn:uuid:" + id,
		"no hyphens": strings.ReplaceAll(id, "-", ""),
	} {
		t.Run(name, func(t *testing.T) {
			if uuid.Validate(spelling) != nil {
				t.Fatalf("%q is not a uuid spelling at all", spelling)
			}
			_, _, err := st.List(context.Background(), "acme", 10, forgeCursor("acme", spelling))
			if e := access.AsError(err); err == nil || e.Code != "INVALID_NEXT_TOKEN" {
				t.Fatalf("got %v, want INVALID_NEXT_TOKEN", err)
			}
		})
	}
}
