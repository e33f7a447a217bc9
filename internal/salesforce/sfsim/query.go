package sfsim

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

type fieldKind int

const (
	kindID fieldKind = iota
	kindString
	kindBool
	kindNumber
	kindTime // rendered as Salesforce dateTime strings; only null literals compare
)

type fieldDef struct {
	name string
	kind fieldKind
}

type objectSchema struct {
	name    string
	tooling bool // served by /tooling/query rather than /query
	fields  []fieldDef
}

func (o objectSchema) field(name string) (fieldDef, bool) {
	for _, f := range o.fields {
		if strings.EqualFold(f.name, name) {
			return f, true
		}
	}
	return fieldDef{}, false
}

var schemas = []objectSchema{
	{name: "User", fields: []fieldDef{
		{"Id", kindID}, {"Username", kindString}, {"IsActive", kindBool}, {"Email", kindString},
		{"FirstName", kindString}, {"LastName", kindString}, {"Name", kindString}, {"Alias", kindString},
		{"ProfileId", kindID}, {"UserType", kindString}, {"TimeZoneSidKey", kindString},
		{"LocaleSidKey", kindString}, {"EmailEncodingKey", kindString}, {"LanguageLocaleKey", kindString},
		{"CreatedDate", kindTime},
	}},
	{name: "UserLogin", fields: []fieldDef{
		{"Id", kindID}, {"UserId", kindID}, {"IsFrozen", kindBool}, {"IsPasswordLocked", kindBool},
	}},
	{name: "Profile", fields: []fieldDef{{"Id", kindID}, {"Name", kindString}}},
	{name: "SandboxInfo", tooling: true, fields: []fieldDef{
		{"Id", kindID}, {"SandboxName", kindString}, {"LicenseType", kindString}, {"AutoActivate", kindBool},
		{"ApexClassId", kindID}, {"Description", kindString}, {"CreatedDate", kindTime},
	}},
	{name: "SandboxProcess", tooling: true, fields: []fieldDef{
		{"Id", kindID}, {"SandboxInfoId", kindID}, {"SandboxName", kindString}, {"LicenseType", kindString},
		{"Status", kindString}, {"CopyProgress", kindNumber}, {"AutoActivate", kindBool},
		{"ApexClassId", kindID}, {"Description", kindString}, {"CreatedDate", kindTime},
		{"StartDate", kindTime}, {"EndDate", kindTime}, {"ActivatedDate", kindTime},
	}},
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

func resolve(q soqlQuery, tooling bool) (resolvedQuery, *restError) {
	s, ok := schemaOf(q.object)
	if !ok || s.tooling != tooling {
		return resolvedQuery{}, newRESTError(400, "INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", q.object))
	}
	r := resolvedQuery{soqlQuery: q, schema: s, kinds: map[string]fieldKind{}}
	canon := func(name string) (string, *restError) {
		f, ok := s.field(name)
		if !ok {
			return "", newRESTError(400, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'.", name, s.name))
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
		return k == kindString || k == kindID
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
	case kindString:
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
