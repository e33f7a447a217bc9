package salesforce

import (
	"context"
	"fmt"
	"strings"
)

// userFields are the User fields every user query selects.
const userFields = "Id, Username, IsActive, Email, FirstName, LastName, Alias, ProfileId, UserType, TimeZoneSidKey, LocaleSidKey, EmailEncodingKey, LanguageLocaleKey, LastLoginDate"

// User is a Salesforce user. The JSON names are Salesforce's field names.
type User struct {
	ID                string `json:"Id"`
	Username          string `json:"Username"`
	IsActive          bool   `json:"IsActive"`
	Email             string `json:"Email"`
	FirstName         string `json:"FirstName"`
	LastName          string `json:"LastName"`
	Alias             string `json:"Alias"`
	ProfileID         string `json:"ProfileId"`
	UserType          string `json:"UserType"` // Standard, PowerPartner, CsnOnly, AutomatedProcess…
	TimeZoneSidKey    string `json:"TimeZoneSidKey"`
	LocaleSidKey      string `json:"LocaleSidKey"`
	EmailEncodingKey  string `json:"EmailEncodingKey"`
	LanguageLocaleKey string `json:"LanguageLocaleKey"`
	// LastLoginDate is when the user last signed in (zero: never).
	LastLoginDate sfTime `json:"LastLoginDate"`
}

// UserLogin is a user's login state; IsFrozen blocks sign-in.
type UserLogin struct {
	ID       string `json:"Id"`
	UserID   string `json:"UserId"`
	IsFrozen bool   `json:"IsFrozen"`
}

// Users returns every user of the org, active or not, ordered by id.
func (c *Client) Users(ctx context.Context) ([]User, error) {
	users, err := queryAll[User](ctx, c, "query", "SELECT "+userFields+" FROM User ORDER BY Id")
	if err != nil {
		return nil, fmt.Errorf("salesforce: users: %w", err)
	}
	return users, nil
}

// UsersByUsername returns the users, active or not, with these usernames
// (compared without regard to case, as Salesforce does). Usernames that
// match no user are left out.
func (c *Client) UsersByUsername(ctx context.Context, usernames []string) ([]User, error) {
	var users []User
	for _, list := range inLists(usernames) {
		got, err := queryAll[User](ctx, c, "query", "SELECT "+userFields+" FROM User WHERE Username IN "+list+" ORDER BY Id")
		if err != nil {
			return nil, fmt.Errorf("salesforce: users by username: %w", err)
		}
		users = append(users, got...)
	}
	return users, nil
}

// UserLogins returns the UserLogin of each user id that has one, keyed by user id.
func (c *Client) UserLogins(ctx context.Context, userIDs []string) (map[string]UserLogin, error) {
	logins := make(map[string]UserLogin, len(userIDs))
	for _, list := range inLists(userIDs) {
		got, err := queryAll[UserLogin](ctx, c, "query", "SELECT Id, UserId, IsFrozen FROM UserLogin WHERE UserId IN "+list)
		if err != nil {
			return nil, fmt.Errorf("salesforce: user logins: %w", err)
		}
		for _, l := range got {
			logins[l.UserID] = l
		}
	}
	return logins, nil
}

// AllUserLogins returns every UserLogin of the org, keyed by user id: one
// paged query, where UserLogins of many ids takes one query per IN list.
func (c *Client) AllUserLogins(ctx context.Context) (map[string]UserLogin, error) {
	got, err := queryAll[UserLogin](ctx, c, "query", "SELECT Id, UserId, IsFrozen FROM UserLogin")
	if err != nil {
		return nil, fmt.Errorf("salesforce: user logins: %w", err)
	}
	logins := make(map[string]UserLogin, len(got))
	for _, l := range got {
		logins[l.UserID] = l
	}
	return logins, nil
}

// ProfileIDs returns the id of each named profile, keyed by the name as the
// caller wrote it (SOQL compares names without regard to case). Names that
// match no profile are left out.
func (c *Client) ProfileIDs(ctx context.Context, names []string) (map[string]string, error) {
	type profile struct {
		ID   string `json:"Id"`
		Name string `json:"Name"`
	}
	byName := make(map[string]string, len(names))
	for _, list := range inLists(names) {
		got, err := queryAll[profile](ctx, c, "query", "SELECT Id, Name FROM Profile WHERE Name IN "+list)
		if err != nil {
			return nil, fmt.Errorf("salesforce: profiles: %w", err)
		}
		for _, p := range got {
			byName[strings.ToLower(p.Name)] = p.ID
		}
	}
	ids := make(map[string]string, len(names))
	for _, n := range names {
		if id, ok := byName[strings.ToLower(n)]; ok {
			ids[n] = id
		}
	}
	return ids, nil
}
