package sfsim

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSOQL(t *testing.T) {
	tests := []struct {
		name string
		soql string
		want soqlQuery
	}{
		{
			name: "a select with one condition parses",
			soql: "SELECT Id, SandboxName FROM SandboxInfo WHERE SandboxName = 'dev'",
			want: soqlQuery{fields: []string{"Id", "SandboxName"}, object: "SandboxInfo", limit: -1,
				where: []condition{{field: "SandboxName", op: "=", values: []literal{{kind: litString, s: "dev"}}}}},
		},
		{
			name: "ORDER BY, DESC and LIMIT parse, in any case",
			soql: "select Id from SandboxProcess where SandboxName = 'dev' order by CreatedDate desc limit 1",
			want: soqlQuery{fields: []string{"Id"}, object: "SandboxProcess", orderBy: "CreatedDate", desc: true, limit: 1,
				where: []condition{{field: "SandboxName", op: "=", values: []literal{{kind: litString, s: "dev"}}}}},
		},
		{
			name: "IN, NOT IN, booleans, null and AND parse",
			soql: "SELECT Id FROM User WHERE IsActive = true AND Id IN ('a','b') AND Email NOT IN (null) AND Alias != 'x'",
			want: soqlQuery{fields: []string{"Id"}, object: "User", limit: -1, where: []condition{
				{field: "IsActive", op: "=", values: []literal{{kind: litBool, b: true}}},
				{field: "Id", op: "IN", values: []literal{{kind: litString, s: "a"}, {kind: litString, s: "b"}}},
				{field: "Email", op: "NOT IN", values: []literal{{kind: litNull}}},
				{field: "Alias", op: "!=", values: []literal{{kind: litString, s: "x"}}},
			}},
		},
		{
			name: "escaped quotes and backslashes are unescaped",
			soql: `SELECT Id FROM User WHERE Username = 'o\'brien\\x'`,
			want: soqlQuery{fields: []string{"Id"}, object: "User", limit: -1,
				where: []condition{{field: "Username", op: "=", values: []literal{{kind: litString, s: `o'brien\x`}}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSOQL(tt.soql)
			if err != nil {
				t.Fatalf("parseSOQL: %v", err.Message)
			}
			got.text, got.objectPos, got.positions = "", 0, nil // where errors point, tested below
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseSOQL = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseSOQLRefusesWhatItDoesNotKnow(t *testing.T) {
	tests := []struct {
		name string
		soql string
	}{
		{"OR is not supported", "SELECT Id FROM User WHERE IsActive = true OR Alias = 'x'"},
		{"an unterminated literal is malformed", "SELECT Id FROM User WHERE Username = 'x"},
		{"an unescaped quote ends the literal and leaves junk", "SELECT Id FROM User WHERE Username = 'o'brien'"},
		{"an unknown escape is malformed", `SELECT Id FROM User WHERE Username = 'a\qb'`},
		{"LIKE is not supported", "SELECT Id FROM User WHERE Username LIKE 'a%'"},
		{"a query without FROM is malformed", "SELECT Id"},
		{"a subquery is not supported", "SELECT Id, (SELECT Id FROM Logins) FROM User"},
		{"a semicolon is malformed", "SELECT Id FROM User;"},
		{"an empty IN list is malformed", "SELECT Id FROM User WHERE Id IN ()"},
		{"an empty query is malformed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSOQL(tt.soql)
			if err == nil {
				t.Fatal("parseSOQL succeeded, want MALFORMED_QUERY")
			}
			if err.status != 400 || err.ErrorCode != "MALFORMED_QUERY" {
				t.Errorf("error = %d %s, want 400 MALFORMED_QUERY", err.status, err.ErrorCode)
			}
		})
	}
}

func TestQueryErrorsPointAtTheTokenAsSalesforceDoes(t *testing.T) {
	_, err := parseSOQL("SELECT Id FROM User GROUP BY Id")
	want := "\nSELECT Id FROM User GROUP BY Id\n                    ^\nERROR at Row:1:Column:21\nunexpected token: 'GROUP'"
	if err == nil || err.ErrorCode != "MALFORMED_QUERY" || err.Message != want {
		t.Fatalf("got %+v, want MALFORMED_QUERY %q", err, want)
	}
	q, _ := parseSOQL("SELECT Id,\n  Nope FROM User")
	_, err = resolve(q, false, "v62.0")
	if err == nil || err.ErrorCode != "INVALID_FIELD" || !strings.HasPrefix(err.Message, "\n  Nope FROM User\n  ^\nERROR at Row:2:Column:3\nNo such column 'Nope' on entity 'User'.") {
		t.Fatalf("got %+v, want INVALID_FIELD pointing at row 2, column 3", err)
	}
	q, _ = parseSOQL("SELECT Id, Profile.Name FROM User")
	if _, err = resolve(q, false, "v62.0"); err == nil || err.ErrorCode != "MALFORMED_QUERY" {
		t.Fatalf("a relationship query: got %+v, want MALFORMED_QUERY (not modelled, said in Salesforce's shape)", err)
	}
	q, _ = parseSOQL("SELECT ActivationUserGroupId FROM SandboxInfo")
	if _, err = resolve(q, true, "v59.0"); err == nil || err.ErrorCode != "INVALID_FIELD" {
		t.Fatalf("a field of API version 60.0 in version 59.0: got %+v, want INVALID_FIELD", err)
	}
	if _, err = resolve(q, true, "v60.0"); err != nil {
		t.Fatalf("the same field in version 60.0: %+v", err)
	}
}
