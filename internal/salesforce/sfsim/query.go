package sfsim

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

type fieldKind int

const (
	kindID fieldKind = iota
	kindString
	kindBool
	kindNumber
	kindTime   // rendered as Salesforce dateTime strings; only null literals compare
	kindStatus // SandboxProcess.Status: rows hold the label, filters name the code
)

type fieldDef struct {
	name  string
	kind  fieldKind
	since int // the API version (major) that introduced the field; 0: always there
}

type objectSchema struct {
	name    string
	tooling bool // served by /tooling/query rather than /query
	fields  []fieldDef
}

// field finds a field by name, without regard to case, as the request's API
// version (such as "v62.0") knows it.
func (o objectSchema) field(name, version string) (fieldDef, bool) {
	major := 0
	if v, _, ok := strings.Cut(strings.TrimPrefix(version, "v"), "."); ok {
		major, _ = strconv.Atoi(v)
	}
	for _, f := range o.fields {
		if strings.EqualFold(f.name, name) && major >= f.since {
			return f, true
		}
	}
	return fieldDef{}, false
}

// audit are the system fields every record has.
var audit = []fieldDef{
	{"Id", kindID, 0}, {"IsDeleted", kindBool, 0}, {"CreatedDate", kindTime, 0}, {"CreatedById", kindID, 0},
	{"LastModifiedDate", kindTime, 0}, {"LastModifiedById", kindID, 0}, {"SystemModstamp", kindTime, 0},
}

// The fields of SandboxInfo and SandboxProcess, as the Tooling API reference
// lists them (PostCopyConfig, which only the newest orgs have, is left out:
// the Salesforce CLI asks again without it on INVALID_FIELD).
var (
	sandboxSettingFields = []fieldDef{
		{"SandboxName", kindString, 0}, {"LicenseType", kindString, 0}, {"AutoActivate", kindBool, 0},
		{"ApexClassId", kindID, 0}, {"Description", kindString, 0}, {"HistoryDays", kindNumber, 0},
		{"CopyChatter", kindBool, 0}, {"CopyArchivedActivities", kindBool, 0}, {"SourceId", kindID, 0},
		{"ActivationUserGroupId", kindID, 60}, {"TemplateId", kindID, 0}, {"Features", kindString, 0},
	}
	sandboxInfoObject    = objectSchema{name: "SandboxInfo", tooling: true, fields: slices.Concat(audit, sandboxSettingFields)}
	sandboxProcessObject = objectSchema{name: "SandboxProcess", tooling: true, fields: slices.Concat(audit, sandboxSettingFields, []fieldDef{
		{"SandboxInfoId", kindID, 0}, {"Status", kindStatus, 0}, {"CopyProgress", kindNumber, 0},
		{"RefreshAction", kindString, 0}, {"SandboxOrganization", kindString, 0}, {"StartDate", kindTime, 0},
		{"EndDate", kindTime, 0}, {"ActivatedDate", kindTime, 0}, {"ActivatedById", kindID, 0},
	})}
)

var schemas = []objectSchema{
	{name: "User", fields: []fieldDef{
		{"Id", kindID, 0}, {"Username", kindString, 0}, {"IsActive", kindBool, 0}, {"Email", kindString, 0},
		{"FirstName", kindString, 0}, {"LastName", kindString, 0}, {"Name", kindString, 0}, {"Alias", kindString, 0},
		{"ProfileId", kindID, 0}, {"UserType", kindString, 0}, {"TimeZoneSidKey", kindString, 0},
		{"LocaleSidKey", kindString, 0}, {"EmailEncodingKey", kindString, 0}, {"LanguageLocaleKey", kindString, 0},
		{"CreatedDate", kindTime, 0}, {"LastLoginDate", kindTime, 0},
	}},
	{name: "UserLogin", fields: []fieldDef{
		{"Id", kindID, 0}, {"UserId", kindID, 0}, {"IsFrozen", kindBool, 0}, {"IsPasswordLocked", kindBool, 0},
	}},
	{name: "Profile", fields: []fieldDef{{"Id", kindID, 0}, {"Name", kindString, 0}}},
	{name: "ApexClass", fields: []fieldDef{{"Id", kindID, 0}, {"Name", kindString, 0}, {"NamespacePrefix", kindString, 0}, {"Status", kindString, 0}}},
	{name: "Group", fields: []fieldDef{{"Id", kindID, 0}, {"Name", kindString, 0}, {"DeveloperName", kindString, 0}, {"Type", kindString, 0}}},
	sandboxInfoObject,
	sandboxProcessObject,
}

func schemaOf(object string) (objectSchema, bool) {
	for _, s := range schemas {
		if strings.EqualFold(s.name, object) {
			return s, true
		}
	}
	return objectSchema{}, false
}

// resolvedQuery is a parsed query checked against its object's schema, with
// field names in their canonical spelling.
type resolvedQuery struct {
	soqlQuery
	schema objectSchema
	kinds  map[string]fieldKind
}

func resolve(q soqlQuery, tooling bool, version string) (resolvedQuery, *restError) {
	s, ok := schemaOf(q.object)
	if !ok || s.tooling != tooling {
		return resolvedQuery{}, q.errorAt(q.objectPos, "INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", q.object))
	}
	r := resolvedQuery{soqlQuery: q, schema: s, kinds: map[string]fieldKind{}}
	canon := func(name string) (string, *restError) {
		if strings.Contains(name, ".") {
			// Real SOQL has relationship fields; the simulator does not model
			// them, and says so in Salesforce's words rather than pretend.
			return "", q.errorAt(q.positions[name], "MALFORMED_QUERY", fmt.Sprintf("relationship field %s: this simulator does not support relationship queries", name))
		}
		f, ok := s.field(name, version)
		if !ok {
			return "", q.errorAt(q.positions[name], "INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", name, s.name))
		}
		r.kinds[f.name] = f.kind
		return f.name, nil
	}
	r.fields = make([]string, len(q.fields))
	for i, f := range q.fields {
		name, err := canon(f)
		if err != nil {
			return resolvedQuery{}, err
		}
		if slices.Contains(r.fields[:i], name) {
			return resolvedQuery{}, newRESTError(400, "INVALID_FIELD", "duplicate field selected: "+name)
		}
		r.fields[i] = name
	}
	r.where = make([]condition, len(q.where))
	for i, c := range q.where {
		name, err := canon(c.field)
		if err != nil {
			return resolvedQuery{}, err
		}
		for _, v := range c.values {
			if !literalFits(v, r.kinds[name]) {
				return resolvedQuery{}, newRESTError(400, "INVALID_QUERY_FILTER_OPERATOR", fmt.Sprintf("value of filter criterion for field '%s' is not of the field's type", name))
			}
		}
		c.field = name
		r.where[i] = c
	}
	if q.orderBy != "" {
		name, err := canon(q.orderBy)
		if err != nil {
			return resolvedQuery{}, err
		}
		r.orderBy = name
	}
	return r, nil
}

func literalFits(l literal, k fieldKind) bool {
	switch l.kind {
	case litNull:
		return true
	case litString:
		return k == kindString || k == kindID || k == kindStatus
	case litBool:
		return k == kindBool
	case litNumber:
		return k == kindNumber
	}
	return false
}

func equal(v any, l literal, k fieldKind) bool {
	if l.kind == litNull || v == nil {
		return l.kind == litNull && v == nil
	}
	switch k {
	case kindString:
		return strings.EqualFold(v.(string), l.s)
	case kindStatus: // filters name the status code: Status != 'D' is "not Deleted"
		code := statusCode(v.(string))
		return code != "" && strings.EqualFold(code, l.s)
	case kindID: // a 15-character id matches its 18-character form
		s := v.(string)
		return s == l.s || (len(l.s) == 15 && strings.HasPrefix(s, l.s))
	case kindBool:
		return v.(bool) == l.b
	case kindNumber:
		return float64(v.(int)) == l.n
	}
	return false
}

func (c condition) matches(row map[string]any, k fieldKind) bool {
	v := row[c.field]
	in := slices.ContainsFunc(c.values, func(l literal) bool { return equal(v, l, k) })
	if c.op == "!=" || c.op == "NOT IN" {
		return !in
	}
	return in
}

// compareValues orders nulls first, strings without regard to case.
func compareValues(a, b any, k fieldKind) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch k {
	case kindString, kindStatus:
		return cmp.Compare(strings.ToLower(a.(string)), strings.ToLower(b.(string)))
	case kindBool:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case kindNumber:
		return cmp.Compare(a.(int), b.(int))
	}
	return cmp.Compare(a.(string), b.(string)) // ids and dateTimes
}

// selectRows filters, sorts and limits rows (each keyed by canonical field name).
func (r resolvedQuery) selectRows(rows []map[string]any) []map[string]any {
	var out []map[string]any
	for _, row := range rows {
		ok := true
		for _, c := range r.where {
			if !c.matches(row, r.kinds[c.field]) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, row)
		}
	}
	if r.orderBy != "" {
		slices.SortStableFunc(out, func(a, b map[string]any) int {
			c := compareValues(a[r.orderBy], b[r.orderBy], r.kinds[r.orderBy])
			if c == 0 { // ids grow with creation, so ties keep creation order
				c = compareValues(a["Id"], b["Id"], kindID)
			}
			if r.desc {
				return -c
			}
			return c
		})
	}
	if r.limit >= 0 && len(out) > r.limit {
		out = out[:r.limit]
	}
	return out
}

// project renders selected rows as query records: the selected fields and
// attributes {type, url}. urlPrefix is e.g. "/services/data/v62.0/sobjects/".
func (r resolvedQuery) project(rows []map[string]any, urlPrefix string) []map[string]any {
	records := make([]map[string]any, len(rows))
	for i, row := range rows {
		rec := map[string]any{"attributes": map[string]string{
			"type": r.schema.name,
			"url":  urlPrefix + r.schema.name + "/" + row["Id"].(string),
		}}
		for _, f := range r.fields {
			rec[f] = row[f]
		}
		records[i] = rec
	}
	return records
}
