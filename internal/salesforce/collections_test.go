package salesforce_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
)

func TestUpdateRecordsInBatchesOf200(t *testing.T) {
	tests := []struct {
		name      string
		records   int
		wantSizes []int
	}{
		{"no records make no call", 0, nil},
		{"200 records make one call", 200, []int{200}},
		{"201 records make two calls", 201, []int{200, 1}},
		{"450 records make 3 calls", 450, []int{200, 200, 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, sfsim.Options{})
			ids := f.addUsers(tt.records)
			records := make([]map[string]any, len(ids))
			for i, id := range ids {
				records[i] = map[string]any{"Id": id, "IsActive": false}
			}
			results, err := f.connect(t, integrationUser).UpdateRecords(context.Background(), "User", records)
			if err != nil {
				t.Fatalf("UpdateRecords: %v", err)
			}
			if len(results) != len(ids) {
				t.Fatalf("got %d results, want %d", len(results), len(ids))
			}
			for i, r := range results {
				if !r.Success || r.ID != ids[i] || r.Err() != nil {
					t.Errorf("result %d = %+v, want success for %s", i, r, ids[i])
				}
			}
			var sizes []int
			for _, call := range f.sim.CollectionCalls() {
				sizes = append(sizes, call.Records)
				if call.Method != "PATCH" || !slices.Equal(call.Types, []string{"User"}) || call.Status != 200 {
					t.Errorf("call = %+v, want a PATCH of User answered 200", call)
				}
			}
			if !slices.Equal(sizes, tt.wantSizes) {
				t.Errorf("call sizes = %v, want %v", sizes, tt.wantSizes)
			}
			for _, u := range f.sim.Users(sfsim.Production) {
				if got, want := u.IsActive, u.Username == integrationUser; got != want {
					t.Errorf("%s: IsActive = %v, want %v", u.Username, got, want)
				}
			}
			for _, r := range records {
				if _, ok := r["attributes"]; ok {
					t.Fatal("UpdateRecords changed the caller's record maps")
				}
			}
		})
	}
}

func TestFreezingUsersThroughUserLogin(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sfsim.Options{})
	ids := f.addUsers(3)
	c := f.connect(t, integrationUser)
	logins, err := c.UserLogins(ctx, ids)
	if err != nil {
		t.Fatalf("UserLogins: %v", err)
	}
	var records []map[string]any
	for _, id := range ids {
		records = append(records, map[string]any{"Id": logins[id].ID, "IsFrozen": true})
	}
	results, err := c.UpdateRecords(ctx, "UserLogin", records)
	if err != nil {
		t.Fatalf("UpdateRecords: %v", err)
	}
	for i, r := range results {
		if !r.Success {
			t.Errorf("result %d = %+v, want success", i, r)
		}
	}
	for _, u := range f.sim.Users(sfsim.Production) {
		if got, want := u.IsFrozen, u.Username != integrationUser; got != want {
			t.Errorf("%s: IsFrozen = %v, want %v", u.Username, got, want)
		}
	}
}

func TestUpdateRecordsReportsEachRecordsError(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sfsim.Options{})
	ids := f.addUsers(2)
	self, _ := f.sim.User(sfsim.Production, integrationUser)
	f.sim.FailRecord("user001@acme.example", "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
	c := f.connect(t, integrationUser)

	records := []map[string]any{
		{"Id": ids[0], "IsActive": false},
		{"Id": ids[1], "IsActive": false},
		{"Id": "not-an-id", "IsActive": false},
		{"Id": "005000000000999AAA", "IsActive": false},
		{"Id": self.ID, "IsActive": false},
		{"Id": ids[0], "IsActive": "no"},
		{"Id": ids[0], "Shoe_Size__c": 44},
	}
	wantCodes := []string{"", "UNABLE_TO_LOCK_ROW", "MALFORMED_ID", "INVALID_CROSS_REFERENCE_KEY", "FIELD_INTEGRITY_EXCEPTION", "INVALID_TYPE_ON_FIELD_IN_RECORD", "INVALID_FIELD"}
	results, err := c.UpdateRecords(ctx, "User", records)
	if err != nil {
		t.Fatalf("UpdateRecords: %v", err)
	}
	for i, r := range results {
		got := ""
		if !r.Success {
			if len(r.Errors) == 0 || r.ID != "" || r.Err() == nil {
				t.Errorf("result %d = %+v, want errors, no id", i, r)
				continue
			}
			got = r.Errors[0].StatusCode
		}
		if got != wantCodes[i] {
			t.Errorf("record %d: error code %q, want %q", i, got, wantCodes[i])
		}
	}
	// allOrNone is false: the good record was saved despite the others.
	if u, _ := f.sim.User(sfsim.Production, "user000@acme.example"); u.IsActive {
		t.Error("user000 is still active, want it deactivated")
	}
	if u, _ := f.sim.User(sfsim.Production, "user001@acme.example"); !u.IsActive {
		t.Error("user001 was deactivated despite its injected error")
	}
}

func TestCreateRecords(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sfsim.Options{})
	f.sim.AddProdUsers(sfsim.User{Username: "taken@acme.example"})
	c := f.connect(t, integrationUser)
	profiles, err := c.ProfileIDs(ctx, []string{"Standard User"})
	if err != nil {
		t.Fatalf("ProfileIDs: %v", err)
	}
	user := func(username string, change func(map[string]any)) map[string]any {
		r := map[string]any{
			"Username": username, "Email": "qa@acme.example", "FirstName": "Q", "LastName": "Tester", "Alias": "qtest",
			"ProfileId": profiles["Standard User"], "TimeZoneSidKey": "America/New_York", "LocaleSidKey": "en_US",
			"EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US",
		}
		if change != nil {
			change(r)
		}
		return r
	}
	tests := []struct {
		name     string
		record   map[string]any
		wantCode string
	}{
		{"a complete user is created", user("new@acme.example", nil), ""},
		{"an existing username is a duplicate", user("TAKEN@acme.example", nil), "DUPLICATE_USERNAME"},
		{"a username used earlier in the same call is a duplicate", user("new@acme.example", nil), "DUPLICATE_USERNAME"},
		{"a user without LastName and Alias misses required fields", user("bare@acme.example", func(r map[string]any) { delete(r, "LastName"); delete(r, "Alias") }), "REQUIRED_FIELD_MISSING"},
		{"an alias over 8 characters is too long", user("long@acme.example", func(r map[string]any) { r["Alias"] = "ninechars" }), "STRING_TOO_LONG"},
		{"an unknown time zone is a bad picklist value", user("tz@acme.example", func(r map[string]any) { r["TimeZoneSidKey"] = "Mars/Olympus" }), "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"},
		{"an unknown profile id is refused", user("prof@acme.example", func(r map[string]any) { r["ProfileId"] = "00e000000000999AAA" }), "INVALID_CROSS_REFERENCE_KEY"},
		{"a bad e-mail address is refused", user("mail@acme.example", func(r map[string]any) { r["Email"] = "not mail" }), "INVALID_EMAIL_ADDRESS"},
	}
	records := make([]map[string]any, len(tests))
	for i, tt := range tests {
		records[i] = tt.record
	}
	results, err := c.CreateRecords(ctx, "User", records)
	if err != nil {
		t.Fatalf("CreateRecords: %v", err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := results[i]
			got := ""
			if !r.Success {
				got = r.Errors[0].StatusCode
			}
			if got != tt.wantCode {
				t.Errorf("code = %q (%v), want %q", got, r.Err(), tt.wantCode)
			}
			if tt.wantCode == "" && r.ID == "" {
				t.Error("a created record has no id")
			}
		})
	}
	t.Run("the missing fields are named", func(t *testing.T) {
		if got, want := results[3].Errors[0].Fields, []string{"LastName", "Alias"}; !slices.Equal(got, want) {
			t.Errorf("fields = %v, want %v", got, want)
		}
	})
	t.Run("the created user is active and can be found", func(t *testing.T) {
		users, err := c.UsersByUsername(ctx, []string{"new@acme.example"})
		if err != nil {
			t.Fatalf("UsersByUsername: %v", err)
		}
		if len(users) != 1 || users[0].ID != results[0].ID || !users[0].IsActive {
			t.Errorf("users = %+v, want one active user with id %s", users, results[0].ID)
		}
	})
	t.Run("creates go by POST in one call", func(t *testing.T) {
		calls := f.sim.CollectionCalls()
		if len(calls) != 1 || calls[0].Method != "POST" || calls[0].Records != len(tests) {
			t.Errorf("calls = %+v, want one POST of %d records", calls, len(tests))
		}
	})
}

func TestCreateRecordsInBatches(t *testing.T) {
	f := newFixture(t, sfsim.Options{})
	c := f.connect(t, integrationUser)
	profiles, err := c.ProfileIDs(context.Background(), []string{"Standard User"})
	if err != nil {
		t.Fatalf("ProfileIDs: %v", err)
	}
	records := make([]map[string]any, 250)
	for i := range records {
		records[i] = map[string]any{
			"Username": fmt.Sprintf("np%03d@acme.example", i), "Email": "np@acme.example", "LastName": "NP", "Alias": "np",
			"ProfileId": profiles["Standard User"], "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_GB",
			"EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US",
		}
	}
	results, err := c.CreateRecords(context.Background(), "User", records)
	if err != nil {
		t.Fatalf("CreateRecords: %v", err)
	}
	ok := 0
	for _, r := range results {
		if r.Success {
			ok++
		}
	}
	if ok != 250 {
		t.Errorf("%d of 250 created, want all", ok)
	}
	var sizes []int
	for _, call := range f.sim.CollectionCalls() {
		sizes = append(sizes, call.Records)
	}
	if want := []int{200, 50}; !slices.Equal(sizes, want) {
		t.Errorf("call sizes = %v, want %v", sizes, want)
	}
}

func TestSaveRecordsNeedsAType(t *testing.T) {
	f := newFixture(t, sfsim.Options{})
	_, err := f.connect(t, integrationUser).UpdateRecords(context.Background(), "", []map[string]any{{"Id": "x"}})
	if err == nil {
		t.Error("UpdateRecords with no sObject type succeeded, want an error")
	}
}
