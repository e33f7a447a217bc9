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

// SandboxProcess statuses.
const (
	StatusPending    = "Pending"
	StatusProcessing = "Processing"
	StatusActivating = "Activating"
	StatusCompleted  = "Completed"
	StatusFailed     = "Failed"
)

var licenseTypes = []string{"DEVELOPER", "DEVELOPER PRO", "PARTIAL", "FULL"}

type sandboxInfo struct {
	id, name, license        string
	autoActivate             bool
	apexClassID, description string
	created                  time.Time
}

type sandboxProcess struct {
	id                       string
	info                     *sandboxInfo
	license                  string
	autoActivate             bool
	apexClassID, description string
	status                   string
	progress                 int
	created, started         time.Time
	ended, activated         time.Time
	since                    time.Time // when the current status began
}

func (s *Sim) infoByName(name string) *sandboxInfo {
	for _, i := range s.infos {
		if strings.EqualFold(i.name, name) {
			return i
		}
	}
	return nil
}

func inProgress(p *sandboxProcess) bool {
	return p.status == StatusPending || p.status == StatusProcessing || p.status == StatusActivating
}

func (s *Sim) latestProcess(info *sandboxInfo) *sandboxProcess {
	for _, p := range slices.Backward(s.procs) {
		if p.info == info {
			return p
		}
	}
	return nil
}

// serveRefresh is PATCH /tooling/sobjects/SandboxInfo/{id}: it updates the
// SandboxInfo and starts a refresh, a new SandboxProcess in Pending.
func (s *Sim) serveRefresh(w http.ResponseWriter, req apiRequest) {
	var info *sandboxInfo
	if req.org == s.prod {
		for _, i := range s.infos {
			if i.id == req.id {
				info = i
			}
		}
	}
	if info == nil {
		writeError(w, newRESTError(404, "NOT_FOUND", "The requested resource does not exist"))
		return
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(req.body))
	if err := dec.Decode(&fields); err != nil {
		writeError(w, newRESTError(400, "JSON_PARSER_ERROR", "The request body is not a JSON object."))
		return
	}
	update := *info
	haveLicense := false
	for name, raw := range fields {
		var err error
		switch strings.ToLower(name) {
		case "licensetype":
			haveLicense = true
			if err = json.Unmarshal(raw, &update.license); err == nil && !slices.Contains(licenseTypes, update.license) {
				writeError(w, newRESTError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "License Type: bad value for restricted picklist field: "+update.license))
				return
			}
		case "autoactivate":
			err = json.Unmarshal(raw, &update.autoActivate)
		case "apexclassid":
			var id *string
			if err = json.Unmarshal(raw, &id); err == nil {
				update.apexClassID = ""
				if id != nil {
					update.apexClassID = *id
				}
			}
		case "description":
			err = json.Unmarshal(raw, &update.description)
		default:
			writeError(w, newRESTError(400, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type SandboxInfo", name)))
			return
		}
		if err != nil {
			writeError(w, newRESTError(400, "JSON_PARSER_ERROR", fmt.Sprintf("Cannot deserialize the value of field %s.", name)))
			return
		}
	}
	if !haveLicense {
		writeError(w, newRESTError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LicenseType]"))
		return
	}
	if p := s.latestProcess(info); p != nil && inProgress(p) {
		writeError(w, newRESTError(400, "FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("Sandbox %s is already being copied (status %s).", info.name, p.status)))
		return
	}
	*info = update
	now := s.opts.Now()
	s.procs = append(s.procs, &sandboxProcess{
		id: s.newID("0GR"), info: info, license: info.license, autoActivate: info.autoActivate,
		apexClassID: info.apexClassID, description: info.description,
		status: StatusPending, created: now, since: now,
	})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) phaseLength(status string) time.Duration {
	switch status {
	case StatusPending:
		return s.opts.PendingFor
	case StatusProcessing:
		return s.opts.ProcessingFor
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

// step moves p to its next status at time at; false if it cannot move.
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
		case s.failRefresh:
			p.status, p.ended = StatusFailed, at
		case p.autoActivate:
			p.status, p.progress = StatusActivating, 100
		default:
			p.status, p.progress, p.ended = StatusCompleted, 100, at
		}
	case StatusActivating:
		p.status, p.ended = StatusCompleted, at
		s.activate(p, at)
	default:
		return false
	}
	p.since = at
	return true
}

// activate replaces the sandbox org with a fresh copy of production,
// ending the old org's sessions.
func (s *Sim) activate(p *sandboxProcess, at time.Time) {
	p.activated = at
	key := orgKey(p.info.name)
	s.orgs[key] = copyOf(s.prod, key, s.newID("00D"), p.info.name)
}

// ActivateSandbox activates a completed refresh that was started without
// AutoActivate, as the Activate button in Setup does.
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
	if p == nil || p.status != StatusCompleted || !p.activated.IsZero() {
		return fmt.Errorf("sfsim: sandbox %q has no completed refresh waiting for activation", name)
	}
	s.activate(p, now)
	return nil
}

// ProcessState is a SandboxProcess as the inspection helpers report it.
type ProcessState struct {
	ID, SandboxName, Status string
	CopyProgress            int
	Activated               bool
}

// SandboxProcesses returns the refreshes of a sandbox, oldest first.
func (s *Sim) SandboxProcesses(name string) []ProcessState {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceByClock(s.opts.Now())
	var out []ProcessState
	for _, p := range s.procs {
		if strings.EqualFold(p.info.name, name) {
			out = append(out, ProcessState{ID: p.id, SandboxName: p.info.name, Status: p.status, CopyProgress: p.progress, Activated: !p.activated.IsZero()})
		}
	}
	return out
}

func (i *sandboxInfo) row() map[string]any {
	return map[string]any{
		"Id": i.id, "SandboxName": i.name, "LicenseType": i.license, "AutoActivate": i.autoActivate,
		"ApexClassId": nullable(i.apexClassID), "Description": nullable(i.description), "CreatedDate": dateTime(i.created),
	}
}

func (p *sandboxProcess) row() map[string]any {
	return map[string]any{
		"Id": p.id, "SandboxInfoId": p.info.id, "SandboxName": p.info.name, "LicenseType": p.license,
		"Status": p.status, "CopyProgress": p.progress, "AutoActivate": p.autoActivate,
		"ApexClassId": nullable(p.apexClassID), "Description": nullable(p.description),
		"CreatedDate": dateTime(p.created), "StartDate": dateTime(p.started),
		"EndDate": dateTime(p.ended), "ActivatedDate": dateTime(p.activated),
	}
}
