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
	// apexClasses and groups: production's, copied to each sandbox.
	apexClasses []*apexClass
	groups      []*group
}

type apexClass struct{ id, name, namespace string }

// group is a Group: a public group (Type Regular) lists its member users.
type group struct {
	id, name, developerName, kind string
	members                       map[string]bool // user ids
}

type user struct {
	id, loginID                          string
	username, email, firstName, lastName string
	alias, profileID, userType           string
	timeZone, locale, encoding, language string
	active, frozen                       bool
	created, lastLogin                   time.Time
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
		"CreatedDate": dateTime(u.created), "LastLoginDate": dateTime(u.lastLogin),
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

// sandboxAccess is who may use a new copy: the user who asked for it, and
// the members of its activation user group when it has one.
type sandboxAccess struct {
	initiator string          // user id
	group     map[string]bool // user ids; nil when the copy has no group
}

// copyOf is a sandbox copy of source (production, or the sandbox a clone is
// made from) as Salesforce makes it: the same record ids, usernames with
// ".<sandbox>" appended (lower case) in place of the source's suffix, and
// e-mail addresses with ".invalid" appended so the sandbox mails nobody, but
// for the user who asked for the copy (help article 000386507). With an
// activation user group (Selective Sandbox Access), its members keep their
// real addresses and everyone else starts frozen; without one nobody is.
// https://help.salesforce.com/s/articleView?id=platform.data_sandbox_users_and_contacts.htm
func copyOf(source *org, key, id, sandbox string, access sandboxAccess) *org {
	o := newOrg(key, id, sandbox)
	for _, p := range source.profiles {
		o.profiles = append(o.profiles, &profile{id: p.id, name: p.name})
	}
	o.apexClasses = source.apexClasses
	o.groups = source.groups
	suffix := "." + strings.ToLower(sandbox)
	for _, u := range source.users {
		c := *u
		if source.sandbox != "" {
			c.username = strings.TrimSuffix(c.username, "."+strings.ToLower(source.sandbox))
			c.email = strings.TrimSuffix(c.email, ".invalid")
		}
		c.username += suffix
		allowed := u.id == access.initiator || access.group[u.id]
		if !allowed {
			c.email += ".invalid"
		}
		c.frozen = access.group != nil && !allowed
		o.add(&c)
	}
	return o
}
