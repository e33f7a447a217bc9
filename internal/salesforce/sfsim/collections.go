package sfsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // TimeZoneSidKey is checked against the IANA names on any machine
	"unicode/utf8"
)

const maxCollectionRecords = 200

type collectionRequest struct {
	AllOrNone bool             `json:"allOrNone"`
	Records   []map[string]any `json:"records"`
}

// saveResult is one record's outcome; id is left out when the save failed.
type saveResult struct {
	ID      string        `json:"id,omitempty"`
	Success bool          `json:"success"`
	Errors  []RecordError `json:"errors"`
}

// batch is what the earlier records of one request take: usernames, and
// licences of users they make active (less those they deactivate).
type batch struct {
	usernames   map[string]bool
	activations int
}

// takeLicense counts one more active user of org o, or refuses it as
// Salesforce does when the org has no licence left.
func (s *Sim) takeLicense(o *org, staged *batch) *RecordError {
	if s.opts.UserLicenses > 0 {
		active := staged.activations
		for _, u := range o.users {
			if u.active {
				active++
			}
		}
		if active >= s.opts.UserLicenses {
			return failed("LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded: the org has no Salesforce user licence left for another active user.").err
		}
	}
	staged.activations++
	return nil
}

// recordPlan is what saving one record would do: fail with err, or apply.
type recordPlan struct {
	err   *RecordError
	apply func() string // makes the change, returns the record's id
}

func failed(code, message string, fields ...string) recordPlan {
	if fields == nil {
		fields = []string{}
	}
	return recordPlan{err: &RecordError{StatusCode: code, Message: message, Fields: fields}}
}

// serveCollection is sObject Collections: PATCH updates, POST creates, up to
// 200 records, each with its own result in the order sent.
func (s *Sim) serveCollection(w http.ResponseWriter, req apiRequest) {
	var body collectionRequest
	dec := json.NewDecoder(bytes.NewReader(req.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		s.recordCall(req, body, http.StatusBadRequest)
		writeError(w, newRESTError(400, "JSON_PARSER_ERROR", "The request body is not a valid sObject Collections request."))
		return
	}
	if len(body.Records) > maxCollectionRecords {
		s.recordCall(req, body, http.StatusBadRequest)
		writeError(w, newRESTError(400, "EXCEEDED_ID_LIMIT", fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", maxCollectionRecords)))
		return
	}
	s.recordCall(req, body, http.StatusOK)

	staged := &batch{usernames: map[string]bool{}}
	plans := make([]recordPlan, len(body.Records))
	anyFailed := false
	for i, rec := range body.Records {
		plans[i] = s.planRecord(req, rec, staged)
		anyFailed = anyFailed || plans[i].err != nil
	}
	results := make([]saveResult, len(plans))
	for i, p := range plans {
		switch {
		case p.err != nil:
			results[i] = saveResult{Errors: []RecordError{*p.err}}
		case body.AllOrNone && anyFailed:
			results[i] = saveResult{Errors: []RecordError{{
				StatusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
				Message:    "Record rolled back because not all records were valid and the request was using AllOrNone header",
				Fields:     []string{},
			}}}
		default:
			results[i] = saveResult{ID: p.apply(), Success: true, Errors: []RecordError{}}
		}
	}
	writeJSON(w, http.StatusOK, results)
}

func (s *Sim) recordCall(req apiRequest, body collectionRequest, status int) {
	var types []string
	for _, rec := range body.Records {
		if t := recordType(rec); !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	s.collectionCalls = append(s.collectionCalls, CollectionCall{
		Sandbox: req.org.sandbox, Method: req.method, Types: types, Records: len(body.Records), Status: status,
	})
}

func recordType(rec map[string]any) string {
	attrs, _ := rec["attributes"].(map[string]any)
	t, _ := attrs["type"].(string)
	return t
}

func (s *Sim) fault(keys ...string) *RecordError {
	for _, k := range keys {
		if f, ok := s.recordFaults[strings.ToLower(k)]; ok && k != "" {
			return &f
		}
	}
	return nil
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$`)

func (s *Sim) planRecord(req apiRequest, rec map[string]any, staged *batch) recordPlan {
	typ := recordType(rec)
	fields := map[string]any{}
	id, hasID := "", false
	for k, v := range rec {
		switch {
		case strings.EqualFold(k, "attributes"):
		case strings.EqualFold(k, "Id"):
			hasID = true
			id, _ = v.(string)
		default:
			fields[k] = v
		}
	}
	if typ == "" {
		return failed("INVALID_TYPE", "Each record needs attributes with a type.")
	}
	creating := req.method == http.MethodPost
	if !creating {
		switch {
		case !hasID:
			return failed("MISSING_ARGUMENT", "Id not specified in an update call")
		case !idPattern.MatchString(id):
			return failed("MALFORMED_ID", "malformed id "+id, "Id")
		}
	}
	switch {
	case strings.EqualFold(typ, "User") && creating:
		if hasID {
			return failed("INVALID_FIELD", "cannot specify Id in an insert call", "Id")
		}
		return s.planUserCreate(req.org, fields, staged)
	case strings.EqualFold(typ, "User"):
		return s.planUserUpdate(req, id, fields, staged)
	case strings.EqualFold(typ, "UserLogin") && !creating:
		return s.planLoginUpdate(req.org, id, fields)
	case strings.EqualFold(typ, "UserLogin"):
		return failed("INVALID_TYPE_FOR_OPERATION", "entity type UserLogin does not support insert")
	}
	return failed("INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", typ))
}

// userField is a writable User field.
type userField struct {
	name     string
	required bool
	max      int // most characters; 0 for the boolean IsActive
	label    string
}

var userFields = []userField{
	{"Username", true, 80, "Username"},
	{"Email", true, 128, "Email"},
	{"FirstName", false, 40, "First Name"},
	{"LastName", true, 80, "Last Name"},
	{"Alias", true, 8, "Alias"},
	{"ProfileId", true, 18, "Profile ID"},
	{"TimeZoneSidKey", true, 40, "Time Zone"},
	{"LocaleSidKey", true, 40, "Locale"},
	{"EmailEncodingKey", true, 40, "Email Encoding"},
	{"LanguageLocaleKey", true, 40, "Language"},
	{"IsActive", false, 0, "Active"},
}

var readOnlyUserFields = []string{"UserType", "Name", "CreatedDate"}

var (
	emailEncodings = []string{"UTF-8", "ISO-8859-1", "Shift_JIS", "ISO-2022-JP", "EUC-JP", "ks_c_5601-1987", "Big5", "GB2312", "Big5-HKSCS", "x-SJIS_0213"}
	localePattern  = regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2})?(_[A-Za-z0-9]+)?$`)
)

// checkUserFields validates the fields of a User create or update and
// returns them keyed by canonical name.
func (s *Sim) checkUserFields(o *org, fields map[string]any) (map[string]any, *RecordError) {
	out := map[string]any{}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := fields[name]
		i := slices.IndexFunc(userFields, func(f userField) bool { return strings.EqualFold(f.name, name) })
		if i < 0 {
			if slices.ContainsFunc(readOnlyUserFields, func(f string) bool { return strings.EqualFold(f, name) }) {
				return nil, failed("INVALID_FIELD_FOR_INSERT_UPDATE", fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", name), name).err
			}
			return nil, failed("INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type User", name)).err
		}
		f := userFields[i]
		if f.max == 0 {
			b, ok := v.(bool)
			if !ok {
				return nil, failed("INVALID_TYPE_ON_FIELD_IN_RECORD", fmt.Sprintf("%s: value not of required type: %v", f.label, v), f.name).err
			}
			out[f.name] = b
			continue
		}
		if v == nil {
			v = ""
		}
		str, ok := v.(string)
		switch {
		case !ok:
			return nil, failed("INVALID_TYPE_ON_FIELD_IN_RECORD", fmt.Sprintf("%s: value not of required type: %v", f.label, v), f.name).err
		case str == "" && f.required:
			return nil, failed("REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", f.name), f.name).err
		case utf8.RuneCountInString(str) > f.max:
			return nil, failed("STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.label, str, f.max), f.name).err
		}
		if err := checkUserValue(o, f, str); err != nil {
			return nil, err
		}
		out[f.name] = str
	}
	return out, nil
}

func checkUserValue(o *org, f userField, v string) *RecordError {
	picklist := func() *RecordError {
		return failed("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", fmt.Sprintf("%s: bad value for restricted picklist field: %s", f.label, v), f.name).err
	}
	switch f.name {
	case "Username":
		if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
			return failed("INVALID_NEW_VALUE", "Username: The username must use the format of an email address (for example, john@acme.com).", f.name).err
		}
	case "Email":
		if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
			return failed("INVALID_EMAIL_ADDRESS", "Email: invalid email address: "+v, f.name).err
		}
	case "ProfileId":
		if o.profileByID(v) == nil {
			return failed("INVALID_CROSS_REFERENCE_KEY", "Profile ID: id value of incorrect type: "+v, f.name).err
		}
	case "TimeZoneSidKey":
		if _, err := time.LoadLocation(v); err != nil || v == "" || v == "Local" {
			return picklist()
		}
	case "EmailEncodingKey":
		if !slices.Contains(emailEncodings, v) {
			return picklist()
		}
	case "LocaleSidKey", "LanguageLocaleKey":
		if !localePattern.MatchString(v) {
			return picklist()
		}
	}
	return nil
}

func duplicateUsername() recordPlan {
	return failed("DUPLICATE_USERNAME", "Duplicate Username.<br>The username already exists in this or another Salesforce organization. Usernames must be unique across all Salesforce organizations. To resolve, use a unique username (it doesn't have to match the user's email address).", "Username")
}

func (s *Sim) planUserCreate(o *org, fields map[string]any, staged *batch) recordPlan {
	username, _ := lookup(fields, "Username").(string)
	if f := s.fault(username); f != nil {
		return recordPlan{err: f}
	}
	var missing []string
	for _, f := range userFields {
		if v, _ := lookup(fields, f.name).(string); f.required && v == "" {
			missing = append(missing, f.name)
		}
	}
	if missing != nil {
		return failed("REQUIRED_FIELD_MISSING", "Required fields are missing: ["+strings.Join(missing, ", ")+"]", missing...)
	}
	values, err := s.checkUserFields(o, fields)
	if err != nil {
		return recordPlan{err: err}
	}
	if s.usernameTaken(username, nil) || staged.usernames[strings.ToLower(username)] {
		return duplicateUsername()
	}
	if active, ok := values["IsActive"].(bool); !ok || active {
		if err := s.takeLicense(o, staged); err != nil {
			return recordPlan{err: err}
		}
	}
	staged.usernames[strings.ToLower(username)] = true
	return recordPlan{apply: func() string {
		u := &user{id: s.newID("005"), loginID: s.newID("060"), userType: "Standard", active: true, created: s.opts.Now()}
		setUserFields(u, values)
		o.add(u)
		return u.id
	}}
}

func (s *Sim) planUserUpdate(req apiRequest, id string, fields map[string]any, staged *batch) recordPlan {
	u := req.org.byID[id]
	if u == nil {
		return failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "Id")
	}
	if f := s.fault(id, u.username); f != nil {
		return recordPlan{err: f}
	}
	values, err := s.checkUserFields(req.org, fields)
	if err != nil {
		return recordPlan{err: err}
	}
	if active, ok := values["IsActive"].(bool); ok && !active && u.active {
		switch {
		case u.id == req.session.userID:
			return failed("FIELD_INTEGRITY_EXCEPTION", "You can't deactivate your own user.", "IsActive")
		case u.pinnedBy != "":
			// The wording of Salesforce's help article 000384586; the error
			// code is not documented (assumed).
			return failed("FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("You cannot deactivate this user. You cannot deactivate a user who is the %s.", u.pinnedBy), "IsActive")
		}
	}
	if active, ok := values["IsActive"].(bool); ok && active && !u.active {
		if err := s.takeLicense(req.org, staged); err != nil {
			return recordPlan{err: err}
		}
	} else if ok && !active && u.active {
		staged.activations-- // a deactivation earlier in the request frees its licence
	}
	if name, ok := values["Username"].(string); ok {
		if s.usernameTaken(name, u) || staged.usernames[strings.ToLower(name)] {
			return duplicateUsername()
		}
		staged.usernames[strings.ToLower(name)] = true
	}
	return recordPlan{apply: func() string {
		setUserFields(u, values)
		return u.id
	}}
}

func (s *Sim) planLoginUpdate(o *org, id string, fields map[string]any) recordPlan {
	u := o.byLogin[id]
	if u == nil {
		return failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "Id")
	}
	if f := s.fault(id, u.username); f != nil {
		return recordPlan{err: f}
	}
	var frozen *bool
	for name, v := range fields {
		switch {
		case strings.EqualFold(name, "IsFrozen"):
			b, ok := v.(bool)
			if !ok {
				return failed("INVALID_TYPE_ON_FIELD_IN_RECORD", fmt.Sprintf("Is Frozen: value not of required type: %v", v), "IsFrozen")
			}
			frozen = &b
		case strings.EqualFold(name, "IsPasswordLocked"):
			if v != false {
				return failed("INVALID_FIELD_FOR_INSERT_UPDATE", "IsPasswordLocked can only be set to false (unlocked).", "IsPasswordLocked")
			}
		case strings.EqualFold(name, "UserId"):
			return failed("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: UserId. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", "UserId")
		default:
			return failed("INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type UserLogin", name))
		}
	}
	return recordPlan{apply: func() string {
		if frozen != nil {
			u.frozen = *frozen
		}
		return u.loginID
	}}
}

func lookup(fields map[string]any, name string) any {
	for k, v := range fields {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func setUserFields(u *user, values map[string]any) {
	for name, v := range values {
		switch name {
		case "IsActive":
			u.active = v.(bool)
			continue
		}
		str := v.(string)
		switch name {
		case "Username":
			u.username = str
		case "Email":
			u.email = str
		case "FirstName":
			u.firstName = str
		case "LastName":
			u.lastName = str
		case "Alias":
			u.alias = str
		case "ProfileId":
			u.profileID = str
		case "TimeZoneSidKey":
			u.timeZone = str
		case "LocaleSidKey":
			u.locale = str
		case "EmailEncodingKey":
			u.encoding = str
		case "LanguageLocaleKey":
			u.language = str
		}
	}
}
