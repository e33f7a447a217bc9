package sfsim

import (
	"strings"
	"time"
)

// org is one Salesforce org: production or one sandbox.
type org struct {
	key      string // path segment: "prod" or "sandbox-<name>"
	id       string // 00D…
	sandbox  string // "" for production
	users    []*user
	byID     map[string]*user
	byLogin  map[string]*user // UserLogin id → user
	profiles []*profile
}

type user struct {
	id, loginID                          string
	username, email, firstName, lastName string
	alias, profileID, userType           string
	timeZone, locale, encoding, language string
	active, frozen                       bool
	created                              time.Time
	pinnedBy                             string // an org setting that names the user: it cannot be deactivated
}

type profile struct{ id, name string }

func newOrg(key, id, sandbox string) *org {
	return &org{key: key, id: id, sandbox: sandbox, byID: map[string]*user{}, byLogin: map[string]*user{}}
}

func (o *org) add(u *user) {
	o.users = append(o.users, u)
	o.byID[u.id] = u
	o.byLogin[u.loginID] = u
}

func (o *org) userByUsername(username string) *user {
	for _, u := range o.users {
		if strings.EqualFold(u.username, username) {
			return u
		}
	}
	return nil
}

func (o *org) profileByID(id string) *profile {
	for _, p := range o.profiles {
		if p.id == id {
			return p
		}
	}
	return nil
}

func (o *org) profileByName(name string) *profile {
	for _, p := range o.profiles {
		if strings.EqualFold(p.name, name) {
			return p
		}
	}
	return nil
}

func (u *user) row() map[string]any {
	name := strings.TrimSpace(u.firstName + " " + u.lastName)
	return map[string]any{
		"Id": u.id, "Username": u.username, "IsActive": u.active, "Email": u.email,
		"FirstName": nullable(u.firstName), "LastName": u.lastName, "Name": name, "Alias": u.alias,
		"ProfileId": u.profileID, "UserType": u.userType, "TimeZoneSidKey": u.timeZone,
		"LocaleSidKey": u.locale, "EmailEncodingKey": u.encoding, "LanguageLocaleKey": u.language,
		"CreatedDate": dateTime(u.created),
	}
}

func (u *user) loginRow() map[string]any {
	return map[string]any{"Id": u.loginID, "UserId": u.id, "IsFrozen": u.frozen, "IsPasswordLocked": false}
}

func (u *user) state() UserState {
	return UserState{
		ID: u.id, LoginID: u.loginID, Username: u.username, Email: u.email,
		FirstName: u.firstName, LastName: u.lastName, Alias: u.alias, ProfileID: u.profileID,
		UserType: u.userType, TimeZoneSidKey: u.timeZone, LocaleSidKey: u.locale,
		EmailEncodingKey: u.encoding, LanguageLocaleKey: u.language,
		IsActive: u.active, IsFrozen: u.frozen,
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// copyOf is a sandbox copy of production as Salesforce makes it: the same
// record ids, usernames suffixed ".<sandbox>" (lower case), e-mail addresses
// suffixed ".invalid" so the sandbox mails nobody, and nobody frozen.
func copyOf(prod *org, key, id, sandbox string) *org {
	o := newOrg(key, id, sandbox)
	for _, p := range prod.profiles {
		o.profiles = append(o.profiles, &profile{id: p.id, name: p.name})
	}
	suffix := "." + strings.ToLower(sandbox)
	for _, u := range prod.users {
		c := *u
		c.username += suffix
		c.email += ".invalid"
		c.frozen = false
		o.add(&c)
	}
	return o
}
