package sfsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// SandboxProcess.Status values: Salesforce returns the label, and SOQL
// filters on the code in parentheses of the Tooling API reference
// (https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/tooling_api_objects_sandboxprocess.htm).
// There is no "Failed": a copy that does not finish ends Stopped or
// Suspended, or is Deleted.
const (
	StatusPending           = "Pending"
	StatusProcessing        = "Processing"
	StatusSampling          = "Sampling"
	StatusPendingActivation = "Pending Activation"
	StatusActivating        = "Activating"
	StatusCompleted         = "Completed"
	StatusDiscarding        = "Discarding"
	StatusDeleting          = "Deleting"
	StatusDeleted           = "Deleted"
	StatusStopped           = "Stopped"
	StatusSuspended         = "Suspended"
)

// statusCodes are the SOQL codes of the statuses (Activating has none).
var statusCodes = map[string]string{
	"Activation Confirmed": "5", "Deactivation Confirmed": "6", "Deactivation Finished": "7",
	"Activation Processing": "8", StatusCompleted: "1", StatusDeleted: "D", StatusDeleting: "E",
	StatusDiscarding: "F", "Locked": "B", "Locking": "L", StatusPending: "0",
	StatusPendingActivation: "4", StatusProcessing: "2", StatusSampling: "X", StatusStopped: "G",
	StatusSuspended: "S",
}

// License types, as the SandboxInfo reference spells them. Writes also take
// "DEVELOPER PRO" (the Salesforce CLI's spelling) and any case.
var licenseTypes = []string{"DEVELOPER", "DEVELOPER_PRO", "PARTIAL", "FULL"}

func canonicalLicense(s string) (string, bool) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", "_"))
	return s, slices.Contains(licenseTypes, s)
}

// RefreshIntervals is how long after a copy Salesforce lets a sandbox be
// refreshed again: Developer and Developer Pro once a day, Partial Copy
// after 5 days, Full after 29 ("Sandbox Licenses and Storage Limits by
// Type", https://help.salesforce.com/s/articleView?id=platform.data_sandbox_environments.htm).
var RefreshIntervals = map[string]time.Duration{
	"DEVELOPER": 24 * time.Hour, "DEVELOPER_PRO": 24 * time.Hour,
	"PARTIAL": 5 * 24 * time.Hour, "FULL": 29 * 24 * time.Hour,
}

// historyDays are SandboxInfo.HistoryDays' valid values.
var historyDays = []int{-1, 0, 10, 20, 30, 60, 90, 120, 150, 180}

// sandboxSettings are the SandboxInfo fields a refresh copies into its
// SandboxProcess.
type sandboxSettings struct {
	license                  string
	autoActivate             bool
	apexClassID, description string
	historyDays              int
	copyChatter              bool
	sourceID, groupID        string
}

type sandboxInfo struct {
	id, name string
	sandboxSettings
	created, modified time.Time
	createdBy         string
}

type sandboxProcess struct {
	id   string
	info *sandboxInfo
	sandboxSettings
	status           string
	refreshAction    string // ACTIVATE or DISCARD once set
	progress         int
	requestedBy      string // the user who asked for the copy (a UserId)
	activatedBy      string
	orgID            string // the new org's id, from the end of the copy on
	created, started time.Time
	ended, activated time.Time
	since            time.Time // when the current status began
}

func (s *Sim) infoByName(name string) *sandboxInfo {
	for _, i := range s.infos {
		if strings.EqualFold(i.name, name) {
			return i
		}
	}
	return nil
}

func (s *Sim) infoByID(id string) *sandboxInfo {
	for _, i := range s.infos {
		if i.id == id {
			return i
		}
	}
	return nil
}

// inProgress reports whether p is a copy that is still running (Pending
// Activation included: the copy is done, and waits to be activated).
func inProgress(p *sandboxProcess) bool {
	switch p.status {
	case StatusPending, StatusProcessing, StatusSampling, StatusPendingActivation, StatusActivating:
		return true
	}
	return false
}

func (s *Sim) latestProcess(info *sandboxInfo) *sandboxProcess {
	for _, p := range slices.Backward(s.procs) {
		if p.info == info {
			return p
		}
	}
	return nil
}

// sandboxInfoWrite is how a field of SandboxInfo is written by a PATCH.
type sandboxInfoWrite func(s *Sim, u *sandboxSettings, raw json.RawMessage) *restError

func fieldType(name string) *restError {
	return newRESTError(400, "JSON_PARSER_ERROR", fmt.Sprintf("Cannot deserialize the value of field %s.", name))
}

// nullableID decodes a reference field: an id, or null to clear it.
func nullableID(raw json.RawMessage, name string) (string, *restError) {
	var id *string
	if json.Unmarshal(raw, &id) != nil {
		return "", fieldType(name)
	}
	if id == nil {
		return "", nil
	}
	return *id, nil
}

// reference writes a reference field: an id of a record that exists, or null.
func reference(label string, exists func(s *Sim, id string) bool, set func(u *sandboxSettings, id string)) sandboxInfoWrite {
	return func(s *Sim, u *sandboxSettings, raw json.RawMessage) *restError {
		id, err := nullableID(raw, label)
		if err != nil {
			return err
		}
		if id != "" && !exists(s, id) {
			return newRESTError(400, "INVALID_CROSS_REFERENCE_KEY", label+": id value of incorrect type: "+id)
		}
		set(u, id)
		return nil
	}
}

var sandboxInfoWrites = map[string]sandboxInfoWrite{
	"LicenseType": func(_ *Sim, u *sandboxSettings, raw json.RawMessage) *restError {
		var v *string
		if json.Unmarshal(raw, &v) != nil {
			return fieldType("LicenseType")
		}
		if v == nil { // null: a clone (SourceId) takes the source's license
			u.license = ""
			return nil
		}
		license, ok := canonicalLicense(*v)
		if !ok {
			return newRESTError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "License Type: bad value for restricted picklist field: "+*v)
		}
		u.license = license
		return nil
	},
	"AutoActivate": func(_ *Sim, u *sandboxSettings, raw json.RawMessage) *restError {
		if json.Unmarshal(raw, &u.autoActivate) != nil {
			return fieldType("AutoActivate")
		}
		return nil
	},
	"CopyChatter": func(_ *Sim, u *sandboxSettings, raw json.RawMessage) *restError {
		if json.Unmarshal(raw, &u.copyChatter) != nil {
			return fieldType("CopyChatter")
		}
		return nil
	},
	"HistoryDays": func(_ *Sim, u *sandboxSettings, raw json.RawMessage) *restError {
		if json.Unmarshal(raw, &u.historyDays) != nil {
			return fieldType("HistoryDays")
		}
		if !slices.Contains(historyDays, u.historyDays) {
			return newRESTError(400, "FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("History Days: %d is not one of -1, 0, 10, 20, 30, 60, 90, 120, 150, 180.", u.historyDays))
		}
		return nil
	},
	"Description": func(_ *Sim, u *sandboxSettings, raw json.RawMessage) *restError {
		var d *string
		if json.Unmarshal(raw, &d) != nil {
			return fieldType("Description")
		}
		u.description = ""
		if d != nil {
			u.description = *d
		}
		if len([]rune(u.description)) > 1000 {
			return newRESTError(400, "STRING_TOO_LONG", "Description: data value too large (max length=1000)")
		}
		return nil
	},
	"ApexClassId": reference("Apex Class ID", func(s *Sim, id string) bool { return s.apexClassByID(id) != nil },
		func(u *sandboxSettings, id string) { u.apexClassID = id }),
	"SourceId": reference("Source ID", func(s *Sim, id string) bool { return s.infoByID(id) != nil },
		func(u *sandboxSettings, id string) { u.sourceID = id }),
	"ActivationUserGroupId": reference("Activation User Group ID", func(s *Sim, id string) bool { g := s.groupByID(id); return g != nil && g.kind == "Regular" },
		func(u *sandboxSettings, id string) { u.groupID = id }),
	// Sandbox templates are not modelled: only null names none.
	"TemplateId": func(_ *Sim, _ *sandboxSettings, raw json.RawMessage) *restError {
		if id, err := nullableID(raw, "TemplateId"); err != nil || id != "" {
			return newRESTError(400, "INVALID_CROSS_REFERENCE_KEY", "Template ID: id value of incorrect type: "+string(raw))
		}
		return nil
	},
	"Features": func(_ *Sim, _ *sandboxSettings, raw json.RawMessage) *restError {
		var f *string
		if json.Unmarshal(raw, &f) != nil {
			return fieldType("Features")
		}
		return nil
	},
	"CopyArchivedActivities": func(_ *Sim, _ *sandboxSettings, raw json.RawMessage) *restError {
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return fieldType("CopyArchivedActivities")
		}
		if b {
			return newRESTError(400, "FIELD_INTEGRITY_EXCEPTION", "Copy Archived Activities requires an option this org has not purchased.")
		}
		return nil
	},
}

// serveRefresh is PATCH /tooling/sobjects/SandboxInfo/{id}: it updates the
// SandboxInfo and starts a refresh, a new SandboxProcess in Pending.
func (s *Sim) serveRefresh(w http.ResponseWriter, req apiRequest) {
	info := s.infoByID(req.id)
	if req.org != s.prod || info == nil {
		writeError(w, newRESTError(404, "NOT_FOUND", "The requested resource does not exist"))
		return
	}
	var fields map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(req.body)).Decode(&fields); err != nil {
		writeError(w, newRESTError(400, "JSON_PARSER_ERROR", "The request body is not a JSON object."))
		return
	}
	update := info.sandboxSettings
	for name, raw := range fields {
		f, ok := sandboxInfoObject.field(name, req.version)
		if !ok {
			writeError(w, newRESTError(400, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type SandboxInfo", name)))
			return
		}
		if f.name == "SandboxName" { // may be sent, may not change on a refresh
			var n string
			if json.Unmarshal(raw, &n) != nil || !strings.EqualFold(n, info.name) {
				writeError(w, newRESTError(400, "FIELD_INTEGRITY_EXCEPTION", "You can't change the name of a sandbox when you refresh it."))
				return
			}
			continue
		}
		write := sandboxInfoWrites[f.name]
		if write == nil {
			writeError(w, newRESTError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.name)))
			return
		}
		if err := write(s, &update, raw); err != nil {
			writeError(w, err)
			return
		}
	}
	if err := s.checkRefresh(info, update); err != nil {
		writeError(w, err)
		return
	}
	now := s.opts.Now()
	info.sandboxSettings, info.modified = update, now
	if update.sourceID != "" {
		info.license = s.infoByID(update.sourceID).license // a clone is of its source's kind
	}
	s.procs = append(s.procs, &sandboxProcess{
		id: s.newID("0GR"), info: info, sandboxSettings: info.sandboxSettings,
		status: StatusPending, created: now, since: now, requestedBy: req.session.userID,
	})
	w.WriteHeader(http.StatusNoContent)
}

// checkRefresh applies Salesforce's rules for a refresh with settings u. The
// error codes of the refusals that Salesforce does not document (a refresh
// too soon, a missing group) are assumed: clients must not depend on them.
func (s *Sim) checkRefresh(info *sandboxInfo, u sandboxSettings) *restError {
	latest := s.latestProcess(info)
	switch {
	case latest != nil && inProgress(latest):
		return newRESTError(400, "FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("Sandbox %s is already being copied (status %s).", info.name, latest.status))
	case u.sourceID != "" && u.license != "":
		return newRESTError(400, "FIELD_INTEGRITY_EXCEPTION", "License Type must be null when Source ID is set: a clone has its source's license type.")
	case u.sourceID == info.id:
		return newRESTError(400, "FIELD_INTEGRITY_EXCEPTION", "Source ID can't be the sandbox that is being refreshed.")
	case u.sourceID == "" && u.license == "":
		return newRESTError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "License Type: bad value for restricted picklist field: null")
	case u.sourceID != "" && u.groupID != "":
		return newRESTError(400, "FIELD_INTEGRITY_EXCEPTION", "Selective sandbox access (Activation User Group ID) is not available when you clone a sandbox.")
	case u.sourceID == "" && (u.license == "DEVELOPER" || u.license == "DEVELOPER_PRO") && u.groupID == "":
		return newRESTError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [ActivationUserGroupId]. Developer and Developer Pro sandboxes are created and refreshed with a public group of the users who can access them.")
	case (u.copyChatter || u.historyDays != 0) && u.license != "FULL" && u.sourceID == "":
		return newRESTError(400, "FIELD_INTEGRITY_EXCEPTION", "Copy Chatter and History Days can be set only for a Full sandbox.")
	}
	if latest != nil && latest.status == StatusCompleted {
		if next := latest.created.Add(s.interval(latest.license)); s.opts.Now().Before(next) {
			return newRESTError(400, "FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("You can't refresh sandbox %s until %s: a %s sandbox can be refreshed %g days after it was last refreshed.",
				info.name, next.UTC().Format("Jan 2, 2006 15:04 MST"), latest.license, RefreshIntervals[latest.license].Hours()/24))
		}
	}
	return nil
}

// interval is the refresh interval of a license, scaled by the options.
func (s *Sim) interval(license string) time.Duration {
	return time.Duration(float64(RefreshIntervals[license]) * s.opts.IntervalScale)
}

// serveSandboxProcess is PATCH /tooling/sobjects/SandboxProcess/{id}: its
// one writable field, RefreshAction, activates (ACTIVATE) or discards
// (DISCARD) the latest copy of a sandbox while it is Pending Activation.
func (s *Sim) serveSandboxProcess(w http.ResponseWriter, req apiRequest) {
	p := s.processByID(req.id)
	if req.org != s.prod || p == nil {
		writeError(w, newRESTError(404, "NOT_FOUND", "The requested resource does not exist"))
		return
	}
	var fields map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(req.body)).Decode(&fields); err != nil {
		writeError(w, newRESTError(400, "JSON_PARSER_ERROR", "The request body is not a JSON object."))
		return
	}
	var action string
	for name, raw := range fields {
		f, ok := sandboxProcessObject.field(name, req.version)
		switch {
		case !ok:
			writeError(w, newRESTError(400, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type SandboxProcess", name)))
			return
		case f.name != "RefreshAction":
			writeError(w, newRESTError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.name)))
			return
		case json.Unmarshal(raw, &action) != nil || (action != "ACTIVATE" && action != "DISCARD"):
			writeError(w, newRESTError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Refresh Action: bad value for restricted picklist field: "+string(raw)))
			return
		}
	}
	if action == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if p.status != StatusPendingActivation || s.latestProcess(p.info) != p {
		writeError(w, newRESTError(400, "FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("A sandbox copy can be activated or discarded only while it is the latest copy and Pending Activation; this one is %s.", p.status)))
		return
	}
	now := s.opts.Now()
	p.refreshAction, p.since = action, now
	if action == "ACTIVATE" {
		p.status, p.activatedBy = StatusActivating, req.session.userID
	} else {
		p.status = StatusDiscarding
	}
	w.WriteHeader(http.StatusNoContent)
}

// serveRecord is GET /tooling/sobjects/{SandboxInfo|SandboxProcess}/{id}:
// every field the request's API version knows, nulls included, and the
// record's attributes.
func (s *Sim) serveRecord(w http.ResponseWriter, req apiRequest) {
	var row map[string]any
	schema := sandboxInfoObject
	if req.object == "SandboxProcess" {
		schema = sandboxProcessObject
		if p := s.processByID(req.id); p != nil {
			row = p.row()
		}
	} else if i := s.infoByID(req.id); i != nil {
		row = i.row()
	}
	if req.org != s.prod || row == nil {
		writeError(w, newRESTError(404, "NOT_FOUND", "The requested resource does not exist"))
		return
	}
	rec := map[string]any{"attributes": map[string]string{"type": schema.name, "url": s.queryPath(req) + "sobjects/" + schema.name + "/" + req.id}}
	for _, f := range schema.fields {
		if _, ok := schema.field(f.name, req.version); ok {
			rec[f.name] = row[f.name]
		}
	}
	writeJSON(w, http.StatusOK, rec)
}

func (s *Sim) processByID(id string) *sandboxProcess {
	for _, p := range s.procs {
		if p.id == id {
			return p
		}
	}
	return nil
}

func (s *Sim) phaseLength(status string) time.Duration {
	switch status {
	case StatusPending:
		return s.opts.PendingFor
	case StatusProcessing:
		return s.opts.ProcessingFor
	case StatusSampling:
		return s.opts.ProcessingFor / 4
	}
	return s.opts.ActivatingFor
}

// advanceByClock moves every refresh in progress along by the clock (unless
// StepPerPoll). It runs on every request, with s.mu held.
func (s *Sim) advanceByClock(now time.Time) {
	if s.opts.StepPerPoll {
		return
	}
	for _, p := range s.procs {
		for inProgress(p) {
			at := p.since.Add(s.phaseLength(p.status))
			if now.Before(at) || !s.step(p, at) {
				break
			}
		}
		if p.status == StatusProcessing {
			p.progress = min(99, int(100*now.Sub(p.since)/s.opts.ProcessingFor))
		}
	}
}

// step moves p to its next status at time at; false if it cannot move
// (a stalled copy, or one that waits for someone to activate it).
func (s *Sim) step(p *sandboxProcess, at time.Time) bool {
	switch p.status {
	case StatusPending:
		p.status, p.started = StatusProcessing, at
		if s.opts.StepPerPoll {
			p.progress = 50
		}
	case StatusProcessing:
		switch {
		case s.stall:
			return false
		case p.license == "PARTIAL":
			p.status = StatusSampling // Partial Copy samples the records it copies
		default:
			s.endCopy(p, at)
		}
	case StatusSampling:
		s.endCopy(p, at)
	case StatusActivating:
		p.status = StatusCompleted
		s.activate(p, at)
	default: // Pending Activation waits for RefreshAction; Discarding ends the copy
		if p.status == StatusDiscarding {
			p.status = StatusDeleted
			break
		}
		return false
	}
	p.since = at
	return true
}

// endCopy finishes the copy of p: it fails if a fault says so, else waits
// for activation or activates at once.
func (s *Sim) endCopy(p *sandboxProcess, at time.Time) {
	p.ended, p.progress = at, 100
	switch {
	case s.endRefreshWith != "":
		p.status = s.endRefreshWith
	case p.autoActivate:
		p.status = StatusActivating
	default:
		p.status = StatusPendingActivation
	}
	if p.orgID == "" {
		p.orgID = s.newID("00D")
	}
}

// activate replaces the sandbox org with a fresh copy of its source
// (production, or the sandbox it is cloned from), ending the old org's
// sessions.
func (s *Sim) activate(p *sandboxProcess, at time.Time) {
	p.activated = at
	if p.activatedBy == "" {
		p.activatedBy = p.requestedBy
	}
	if p.orgID == "" {
		p.orgID = s.newID("00D")
	}
	source := s.prod
	if p.sourceID != "" {
		if o := s.orgs[orgKey(s.infoByID(p.sourceID).name)]; o != nil {
			source = o
		}
	}
	access := sandboxAccess{initiator: p.requestedBy}
	if g := s.groupByID(p.groupID); g != nil {
		access.group = g.members
	}
	key := orgKey(p.info.name)
	s.orgs[key] = copyOf(source, key, p.orgID, p.info.name, access)
}

// ActivateSandbox activates the latest copy of a sandbox that waits in
// Pending Activation (started without AutoActivate), as the Activate
// button in Setup does.
func (s *Sim) ActivateSandbox(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.advanceByClock(now)
	info := s.infoByName(name)
	if info == nil {
		return fmt.Errorf("sfsim: no sandbox %q", name)
	}
	p := s.latestProcess(info)
	if p == nil || p.status != StatusPendingActivation {
		return fmt.Errorf("sfsim: sandbox %q has no copy waiting for activation", name)
	}
	p.status, p.refreshAction, p.since = StatusCompleted, "ACTIVATE", now
	s.activate(p, now)
	return nil
}

// ProcessState is a SandboxProcess as the inspection helpers report it.
type ProcessState struct {
	ID, SandboxName, Status, RefreshAction string
	CopyProgress                           int
	Activated                              bool
	// The settings the copy was requested with.
	LicenseType, ApexClassID, Description, SourceID, ActivationUserGroupID string
	AutoActivate, CopyChatter                                              bool
	HistoryDays                                                            int
}

// SandboxProcesses returns the refreshes of a sandbox, oldest first.
func (s *Sim) SandboxProcesses(name string) []ProcessState {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceByClock(s.opts.Now())
	var out []ProcessState
	for _, p := range s.procs {
		if strings.EqualFold(p.info.name, name) {
			out = append(out, ProcessState{
				ID: p.id, SandboxName: p.info.name, Status: p.status, RefreshAction: p.refreshAction,
				CopyProgress: p.progress, Activated: !p.activated.IsZero(),
				LicenseType: p.license, ApexClassID: p.apexClassID, Description: p.description, SourceID: p.sourceID,
				ActivationUserGroupID: p.groupID, AutoActivate: p.autoActivate, CopyChatter: p.copyChatter, HistoryDays: p.historyDays,
			})
		}
	}
	return out
}

// orgID15 is the 15-character form of an org id, as SandboxOrganization
// holds it.
func orgID15(id string) any {
	if len(id) < 15 {
		return nullable(id)
	}
	return id[:15]
}

func (i *sandboxInfo) row() map[string]any {
	return map[string]any{
		"Id": i.id, "IsDeleted": false, "SandboxName": i.name, "LicenseType": i.license, "AutoActivate": i.autoActivate,
		"ApexClassId": nullable(i.apexClassID), "Description": nullable(i.description), "HistoryDays": i.historyDays,
		"CopyChatter": i.copyChatter, "CopyArchivedActivities": false, "SourceId": nullable(i.sourceID),
		"ActivationUserGroupId": nullable(i.groupID), "TemplateId": nil, "Features": nil,
		"CreatedDate": dateTime(i.created), "CreatedById": i.createdBy, "LastModifiedDate": dateTime(i.modified),
		"LastModifiedById": i.createdBy, "SystemModstamp": dateTime(i.modified),
	}
}

func (p *sandboxProcess) row() map[string]any {
	return map[string]any{
		"Id": p.id, "IsDeleted": false, "SandboxInfoId": p.info.id, "SandboxName": p.info.name, "LicenseType": p.license,
		"Status": p.status, "CopyProgress": p.progress, "AutoActivate": p.autoActivate, "RefreshAction": nullable(p.refreshAction),
		"ApexClassId": nullable(p.apexClassID), "Description": nullable(p.description), "HistoryDays": p.historyDays,
		"CopyChatter": p.copyChatter, "CopyArchivedActivities": false, "SourceId": nullable(p.sourceID),
		"ActivationUserGroupId": nullable(p.groupID), "TemplateId": nil, "Features": nil,
		"SandboxOrganization": orgID15(p.orgID), "ActivatedById": nullable(p.activatedBy),
		"CreatedDate": dateTime(p.created), "CreatedById": p.requestedBy, "LastModifiedDate": dateTime(p.since),
		"LastModifiedById": p.requestedBy, "SystemModstamp": dateTime(p.since),
		"StartDate": dateTime(p.started), "EndDate": dateTime(p.ended), "ActivatedDate": dateTime(p.activated),
	}
}

// statusCode is the SOQL code of a status, "" for one without (Activating).
func statusCode(label string) string { return statusCodes[label] }
