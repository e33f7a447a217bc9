package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dcs-access/dcs-access/internal/salesforce"
)

// systemUserTypes cannot sign in and cannot be deactivated.
var systemUserTypes = map[string]bool{"AutomatedProcess": true, "Guest": true, "CloudIntegrationUser": true}

// Dropped is the drop-users step's result ($.dropUsers). The counts are the
// state of the sandbox's users when the step ended, whatever the number of
// attempts it took: of the users the step drops (every active or frozen user
// but the kept and system ones), how many are frozen, how many inactive, and
// how many Salesforce refused to deactivate (frozen, but still active).
type Dropped struct {
	Frozen           int      `json:"frozen"`
	Deactivated      int      `json:"deactivated"`
	Kept             int      `json:"kept"`
	Refused          int      `json:"refused"`
	Batches          int      `json:"batches"` // sObject Collections calls of this attempt
	DeactivateErrors []string `json:"deactivateErrors,omitempty"`
	// FrozenAt is when the last of them was frozen, by this attempt; zero
	// when it found them all frozen.
	FrozenAt time.Time `json:"frozenAt,omitzero"`
}

// dropUsers freezes, then deactivates, every active user of the sandbox but
// the kept ones. Freezing blocks sign-in at once and must succeed for every
// user; a user that cannot be deactivated (Salesforce refuses some) stays
// frozen and is reported. Running it again changes nothing.
func (s *Steps) dropUsers(ctx context.Context, run State) (*Dropped, error) {
	org, err := s.sandbox(ctx, run)
	if err != nil {
		return nil, err
	}
	users, err := org.Users(ctx)
	if err != nil {
		return nil, classify("list the sandbox's users", err)
	}
	logins, err := org.AllUserLogins(ctx)
	if err != nil {
		return nil, classify("read the users' logins", err)
	}
	keep := s.keptUsernames(run)
	result := &Dropped{}
	var drop []*salesforce.User // active or frozen: the users this step is responsible for
	for i := range users {
		u := &users[i]
		if !u.IsActive && !logins[u.ID].IsFrozen {
			continue // inactive before the copy: nobody to drop
		}
		if keep[strings.ToLower(u.Username)] || systemUserTypes[u.UserType] {
			result.Kept++
			continue
		}
		drop = append(drop, u)
	}

	// Those who can sign in are frozen first, and of them the ones who
	// signed in last first: the people using the sandbox lose access in the
	// first batch. Freezing takes effect at once; deactivating comes after.
	slices.SortStableFunc(drop, func(a, b *salesforce.User) int { return b.LastLoginDate.Compare(a.LastLoginDate.Time) })
	var freeze []map[string]any
	for _, u := range drop {
		if l, ok := logins[u.ID]; ok && u.IsActive && !l.IsFrozen {
			freeze = append(freeze, map[string]any{"Id": l.ID, "IsFrozen": true})
		}
	}
	if len(freeze) > 0 {
		saved, err := org.UpdateRecords(ctx, "UserLogin", freeze)
		if err != nil {
			return nil, classify("freeze users", err)
		}
		if failures := failed(saved, freeze); len(failures) > 0 {
			return nil, &PermanentError{Message: fmt.Sprintf("%d of %d users could not be frozen: %s", len(failures), len(freeze), strings.Join(first(failures, 5), "; "))}
		}
		for _, u := range drop {
			if l, ok := logins[u.ID]; ok && u.IsActive {
				l.IsFrozen = true
				logins[u.ID] = l
			}
		}
		result.Batches += batches(len(freeze))
		result.FrozenAt = s.Now().UTC()
	}

	var deactivate []map[string]any
	var active []*salesforce.User
	for _, u := range drop {
		if u.IsActive {
			deactivate = append(deactivate, map[string]any{"Id": u.ID, "IsActive": false})
			active = append(active, u)
		}
	}
	if len(deactivate) > 0 {
		saved, err := org.UpdateRecords(ctx, "User", deactivate)
		if err != nil {
			return nil, classify("deactivate users", err)
		}
		for i, r := range saved {
			if r.Err() == nil {
				active[i].IsActive = false
			}
		}
		// Only the first few: the run's state is limited to 256 KB.
		result.DeactivateErrors = first(failed(saved, deactivate), 20)
		result.Batches += batches(len(deactivate))
	}

	for _, u := range drop {
		if logins[u.ID].IsFrozen {
			result.Frozen++
		}
		if u.IsActive {
			result.Refused++
		} else {
			result.Deactivated++
		}
	}
	return result, nil
}

// batches is how many sObject Collections calls n records take.
func batches(n int) int {
	return (n + salesforce.MaxCollectionRecords - 1) / salesforce.MaxCollectionRecords
}

// keptUsernames are the sandbox usernames never dropped: the plan's, the
// integration user's (the pipeline's own) and the DCS connector's.
func (s *Steps) keptUsernames(run State) map[string]bool {
	keep := map[string]bool{}
	for _, u := range append([]string{run.Plan.Salesforce.Username, run.Plan.DCS.ConnectorUsername}, run.Plan.KeepUsers...) {
		keep[strings.ToLower(SandboxUsername(u, run.Sandbox))] = true
	}
	return keep
}

// failed lists the records whose save failed, by id, with the reason.
func failed(results []salesforce.SaveResult, records []map[string]any) []string {
	var out []string
	for i, r := range results {
		if err := r.Err(); err != nil {
			out = append(out, fmt.Sprintf("%v: %v", records[i]["Id"], err))
		}
	}
	if len(results) < len(records) {
		out = append(out, fmt.Sprintf("%d records without a result", len(records)-len(results)))
	}
	return out
}

func first(list []string, n int) []string {
	if len(list) > n {
		return append(list[:n:n], fmt.Sprintf("and %d more", len(list)-n))
	}
	return list
}

// Recreated is the recreate-users step's result ($.recreateUsers).
type Recreated struct {
	Created     int           `json:"created"`
	Reactivated int           `json:"reactivated"`
	Results     []UserOutcome `json:"results"`
}

// UserOutcome is what happened to one non-production user.
type UserOutcome struct {
	Username string `json:"username"`
	Outcome  string `json:"outcome"` // created, reactivated or failed
	Error    string `json:"error,omitempty"`
}

// recreateUsers creates each non-production user, or reactivates and
// unfreezes it when it exists. It reports per user, and fails the step
// (so the run reports a failure) when any user could not be restored.
func (s *Steps) recreateUsers(ctx context.Context, run State) (*Recreated, error) {
	// Reaching this step means masking succeeded (the state machine's Choice);
	// checked again here because re-enabling users on unmasked data is the
	// one thing this pipeline must never do.
	if run.Masking == nil || !run.Masking.Done || run.Masking.Status != "SUCCEEDED" {
		return nil, &PermanentError{Message: "users are recreated only after masking succeeded"}
	}
	result := &Recreated{Results: []UserOutcome{}}
	users := run.Plan.NonProdUsers
	if len(users) == 0 {
		return result, nil
	}
	org, err := s.sandbox(ctx, run)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(users))
	profileNames := map[string]bool{}
	for _, u := range users {
		names = append(names, u.Username)
		profileNames[u.ProfileName] = true
	}
	existing, err := org.UsersByUsername(ctx, names)
	if err != nil {
		return nil, classify("look up the non-production users", err)
	}
	byName := map[string]salesforce.User{}
	for _, u := range existing {
		byName[strings.ToLower(u.Username)] = u
	}
	profileList := make([]string, 0, len(profileNames))
	for n := range profileNames {
		profileList = append(profileList, n)
	}
	profiles, err := org.ProfileIDs(ctx, profileList)
	if err != nil {
		return nil, classify("look up profiles", err)
	}

	outcome := map[string]*UserOutcome{}
	var create, reactivate []map[string]any
	var reactivated []string
	for _, u := range users {
		o := &UserOutcome{Username: u.Username}
		outcome[strings.ToLower(u.Username)] = o
		result.Results = append(result.Results, UserOutcome{})
		if found, ok := byName[strings.ToLower(u.Username)]; ok {
			reactivated = append(reactivated, found.ID)
			o.Outcome = "reactivated"
			// A sandbox copy appends .invalid to every user's e-mail address,
			// so nobody is mailed from it: the plan's address is the real one,
			// or password resets would never arrive.
			change := map[string]any{"Id": found.ID}
			if !found.IsActive {
				change["IsActive"] = true
			}
			if !strings.EqualFold(found.Email, u.Email) {
				change["Email"] = u.Email
			}
			if len(change) > 1 {
				reactivate = append(reactivate, change)
			}
			continue
		}
		profileID, ok := profiles[u.ProfileName]
		if !ok {
			o.Outcome, o.Error = "failed", fmt.Sprintf("no profile named %q in the sandbox", u.ProfileName)
			continue
		}
		o.Outcome = "created"
		create = append(create, map[string]any{
			"Username": u.Username, "Email": u.Email, "FirstName": u.FirstName, "LastName": u.LastName,
			"Alias": u.Alias, "ProfileId": profileID, "TimeZoneSidKey": u.TimeZone, "LocaleSidKey": u.Locale,
			"EmailEncodingKey": u.EmailEncoding, "LanguageLocaleKey": u.Language,
		})
	}
	if err := s.save(ctx, org.CreateRecords, "User", create, "Username", outcome); err != nil {
		return nil, err
	}
	if err := s.save(ctx, org.UpdateRecords, "User", reactivate, "", nil); err != nil {
		return nil, err
	}
	if err := s.unfreeze(ctx, org, reactivated); err != nil {
		return nil, err
	}
	var failures []string
	for i, u := range users {
		o := outcome[strings.ToLower(u.Username)]
		result.Results[i] = *o
		switch o.Outcome {
		case "created":
			result.Created++
		case "reactivated":
			result.Reactivated++
		default:
			failures = append(failures, o.Username+": "+o.Error)
		}
	}
	if len(failures) > 0 {
		return nil, &PermanentError{Message: fmt.Sprintf("%d of %d non-production users could not be recreated: %s", len(failures), len(users), strings.Join(first(failures, 5), "; "))}
	}
	return result, nil
}

// save creates or updates records; with key, each record's failure is
// written to its outcome, otherwise any failure fails the step.
func (s *Steps) save(ctx context.Context, call func(context.Context, string, []map[string]any) ([]salesforce.SaveResult, error),
	sobject string, records []map[string]any, key string, outcome map[string]*UserOutcome) error {
	if len(records) == 0 {
		return nil
	}
	results, err := call(ctx, sobject, records)
	if err != nil {
		return classify("save "+sobject+" records", err)
	}
	for i, r := range results {
		if err := r.Err(); err != nil {
			if key == "" {
				return &PermanentError{Message: fmt.Sprintf("save %s %v: %v", sobject, records[i]["Id"], err)}
			}
			o := outcome[strings.ToLower(records[i][key].(string))]
			o.Outcome, o.Error = "failed", err.Error()
		}
	}
	if len(results) != len(records) {
		return &PermanentError{Message: fmt.Sprintf("save %s: %d results for %d records", sobject, len(results), len(records))}
	}
	return nil
}

// unfreeze unfreezes the logins of users that existed and were reactivated.
func (s *Steps) unfreeze(ctx context.Context, org Org, userIDs []string) error {
	if len(userIDs) == 0 {
		return nil
	}
	logins, err := org.UserLogins(ctx, userIDs)
	if err != nil {
		return classify("read the users' logins", err)
	}
	var records []map[string]any
	for _, l := range logins {
		if l.IsFrozen {
			records = append(records, map[string]any{"Id": l.ID, "IsFrozen": false})
		}
	}
	err = s.save(ctx, org.UpdateRecords, "UserLogin", records, "", nil)
	var permanent *PermanentError
	if errors.As(err, &permanent) {
		return &PermanentError{Message: "unfreeze: " + permanent.Message}
	}
	return err
}
