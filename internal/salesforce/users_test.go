package salesforce_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dcs-access/dcs-access/internal/salesforce"
	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
)

func TestUsersFollowsPaging(t *testing.T) {
	tests := []struct {
		name     string
		pageSize int
		active   int
		inactive int
	}{
		{"461 users over pages of 200 are all read", 200, 450, 10},
		{"451 users in one page of 2000 are all read", 2000, 450, 0},
		{"exactly one full page is read once", 54, 50, 3},
		{"the integration user alone is read", 200, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, sfsim.Options{PageSize: tt.pageSize})
			f.addUsers(tt.active)
			for i := range tt.inactive {
				f.sim.AddProdUsers(sfsim.User{Username: fmt.Sprintf("former%d@acme.example", i), Inactive: true})
			}
			users, err := f.connect(t, integrationUser).Users(context.Background())
			if err != nil {
				t.Fatalf("Users: %v", err)
			}
			if got, want := len(users), tt.active+tt.inactive+1; got != want {
				t.Errorf("got %d users, want %d", got, want)
			}
			seen := map[string]bool{}
			inactive := 0
			for _, u := range users {
				if seen[u.ID] {
					t.Errorf("user %+v is repeated", u)
				}
				seen[u.ID] = true
				if !u.IsActive {
					inactive++
					if !strings.HasPrefix(u.Username, "former") {
						t.Errorf("user %+v is read as inactive", u)
					}
				}
			}
			if inactive != tt.inactive {
				t.Errorf("got %d inactive users, want %d", inactive, tt.inactive)
			}
			if !slices.IsSortedFunc(users, func(a, b salesforce.User) int { return strings.Compare(a.ID, b.ID) }) {
				t.Error("users are not ordered by id")
			}
		})
	}
}

func TestUserFieldsAreRead(t *testing.T) {
	f := newFixture(t, sfsim.Options{})
	f.sim.AddProdUsers(sfsim.User{
		Username: "ann@acme.example", Email: "ann@mail.example", FirstName: "Ann", LastName: "Lee", Alias: "alee",
		Profile: "Read Only", TimeZoneSidKey: "Europe/Paris", LocaleSidKey: "fr_FR", EmailEncodingKey: "ISO-8859-1", LanguageLocaleKey: "fr",
	})
	c := f.connect(t, integrationUser)
	users, err := c.UsersByUsername(context.Background(), []string{"ANN@acme.example"})
	if err != nil {
		t.Fatalf("UsersByUsername: %v", err)
	}
	if len(users) != 1 {
		t.Fatalf("got %d users, want 1", len(users))
	}
	profiles, err := c.ProfileIDs(context.Background(), []string{"Read Only"})
	if err != nil {
		t.Fatalf("ProfileIDs: %v", err)
	}
	got := users[0]
	got.ID = ""
	want := salesforce.User{
		Username: "ann@acme.example", IsActive: true, Email: "ann@mail.example", FirstName: "Ann", LastName: "Lee", Alias: "alee",
		ProfileID: profiles["Read Only"], UserType: "Standard", TimeZoneSidKey: "Europe/Paris", LocaleSidKey: "fr_FR",
		EmailEncodingKey: "ISO-8859-1", LanguageLocaleKey: "fr",
	}
	if got != want {
		t.Errorf("user = %+v, want %+v", got, want)
	}
}

func TestUserLoginsOfManyUsers(t *testing.T) {
	f := newFixture(t, sfsim.Options{})
	ids := f.addUsers(450)
	f.sim.AddProdUsers(sfsim.User{Username: "frozen@acme.example", Frozen: true})
	frozen, _ := f.sim.User(sfsim.Production, "frozen@acme.example")
	ids = append(ids, frozen.ID, frozen.ID) // a repeated id is asked for once

	logins, err := f.connect(t, integrationUser).UserLogins(context.Background(), ids)
	if err != nil {
		t.Fatalf("UserLogins: %v", err)
	}
	if got, want := len(logins), 451; got != want {
		t.Errorf("got %d logins, want %d", got, want)
	}
	for _, id := range ids {
		l, ok := logins[id]
		if !ok || l.UserID != id || l.ID == "" {
			t.Errorf("login of %s = %+v, %v; want one with UserId %s", id, l, ok, id)
		}
		if got, want := l.IsFrozen, id == frozen.ID; got != want {
			t.Errorf("login of %s: IsFrozen = %v, want %v", id, got, want)
		}
	}
}

func TestQueriesEscapeStringLiterals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sfsim.Options{})
	f.sim.AddProdUsers(sfsim.User{Username: "o'brien@acme.example"})
	f.sim.AddProdUsers(sfsim.User{Username: `back\slash@acme.example`})
	opsID := f.sim.AddProfile(`Ops \ 'Night' Team`)
	c := f.connect(t, integrationUser)

	tests := []struct {
		name      string
		usernames []string
		want      []string
	}{
		{"a username with a quote is found", []string{"o'brien@acme.example"}, []string{"o'brien@acme.example"}},
		{"a username with a backslash is found", []string{`back\slash@acme.example`}, []string{`back\slash@acme.example`}},
		{"a value that tries to end the literal matches nothing", []string{`x' OR Username != '`}, nil},
		{"a value ending in a backslash matches nothing", []string{`o'brien@acme.example\`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, err := c.UsersByUsername(ctx, tt.usernames)
			if err != nil {
				t.Fatalf("UsersByUsername: %v", err)
			}
			var got []string
			for _, u := range users {
				got = append(got, u.Username)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("usernames = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("a profile name with quotes and a backslash is found", func(t *testing.T) {
		ids, err := c.ProfileIDs(ctx, []string{`Ops \ 'Night' Team`, "standard user", "No Such Profile"})
		if err != nil {
			t.Fatalf("ProfileIDs: %v", err)
		}
		if got := ids[`Ops \ 'Night' Team`]; got != opsID {
			t.Errorf("id = %q, want %q", got, opsID)
		}
		if _, ok := ids["standard user"]; !ok {
			t.Error("a name in another case is not found, want it found (SOQL compares without case)")
		}
		if got, want := len(ids), 2; got != want {
			t.Errorf("got %d profiles, want %d", got, want)
		}
	})
}
