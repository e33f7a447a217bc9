package dcssim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dcs-access/dcs-access/internal/access"
)

type principalKey struct{}

// ServeHTTP answers one call: an injected fault if one is pending, else 401
// (or 5xx) unless the bearer authenticates as an API token, else 403
// INSUFFICIENT_SCOPE unless the token has the scope compliance-jobs:run,
// else the route.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &recorder{ResponseWriter: w}
	call := Call{Method: r.Method, Path: r.URL.EscapedPath()}
	defer func() {
		call.Status = rw.statusCode()
		s.mu.Lock()
		s.calls = append(s.calls, call)
		s.mu.Unlock()
	}()
	if status, ok := s.nextFault(); ok {
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			rw.Header().Set("Retry-After", "1")
		}
		writeError(rw, status, "Injected failure: try again later.")
		return
	}
	p, ok := s.authenticate(rw, r)
	if !ok {
		return
	}
	call.Tenant, call.TokenID = p.Tenant, p.TokenID
	s.mux.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
}

func (s *Sim) nextFault() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return 0, false
	}
	status := s.faults[0]
	s.faults = s.faults[1:]
	return status, true
}

// authenticate runs the Authenticator outside the lock (it may read a
// database) and writes the answer when the caller is not let in.
func (s *Sim) authenticate(w http.ResponseWriter, r *http.Request) (access.Principal, bool) {
	if len(r.Header.Values("Authorization")) > 1 {
		unauthorized(w, "Send one Authorization header.")
		return access.Principal{}, false
	}
	p, err := s.auth.Authenticate(r.Context(), r.Header.Get("Authorization"))
	switch kind := access.ErrorKind(err); {
	case err == nil:
	case kind == access.EUNAUTHORIZED:
		unauthorized(w, "A valid DCS API token is required.")
		return access.Principal{}, false
	case kind == access.EUNAVAILABLE:
		writeError(w, http.StatusServiceUnavailable, "The service is busy. Try again shortly.")
		return access.Principal{}, false
	default:
		writeError(w, http.StatusInternalServerError, "An internal error occurred. Try again later.")
		return access.Principal{}, false
	}
	// DCS takes API tokens, not the sessions of people signed in to the console.
	if p.AuthType != access.AuthAPIToken {
		unauthorized(w, "An API token is required; a user session is not accepted.")
		return access.Principal{}, false
	}
	// Every call of this API is part of running a compliance job.
	if err := p.RequireScope(access.ScopeComplianceJobsRun); err != nil {
		var missing *access.MissingScopeError
		if errors.As(err, &missing) {
			w.Header().Set("WWW-Authenticate", missing.Challenge())
		}
		writeErrorCode(w, http.StatusForbidden, access.AsError(err).Code, access.AsError(err).Message)
		return access.Principal{}, false
	}
	return p, true
}

func unauthorized(w http.ResponseWriter, message string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="dcs"`)
	writeError(w, http.StatusUnauthorized, message)
}

// lockJob locks the Sim and returns the caller and the request's job; when
// the caller's tenant has no such job it answers 404 and returns false,
// with the Sim unlocked.
func (s *Sim) lockJob(w http.ResponseWriter, r *http.Request) (access.Principal, string, bool) {
	p := r.Context().Value(principalKey{}).(access.Principal)
	jobID := r.PathValue("jobId")
	s.mu.Lock()
	if !s.jobs[jobKey{p.Tenant, jobID}] {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "No compliance job with this id in your tenant.")
		return p, jobID, false
	}
	return p, jobID, true
}

func (s *Sim) start(w http.ResponseWriter, r *http.Request) {
	p, jobID, ok := s.lockJob(w, r)
	if !ok {
		return
	}
	e, err := s.newExecution(p.Tenant, jobID, p.User, p.TokenID)
	if err != nil {
		s.mu.Unlock()
		writeError(w, http.StatusInternalServerError, "The simulator's NewID returned an empty or repeated id.")
		return
	}
	lost := s.lose > 0
	if lost {
		s.lose--
		e.hidden = s.late
	}
	body := view(e.Execution)
	s.mu.Unlock()
	if lost {
		if rw, ok := w.(*recorder); ok {
			rw.lost = true
		}
		// Closes the connection without an answer; net/http logs nothing.
		panic(http.ErrAbortHandler)
	}
	writeJSON(w, http.StatusCreated, body)
}

// list answers a job's executions in start order, {"items":[…]}, with
// response_metadata as Data Control Tower gives it: next_cursor (null on
// the last page) and total. A page starts where the cursor says; a cursor
// the simulator did not give is a 400.
func (s *Sim) list(w http.ResponseWriter, r *http.Request) {
	p, jobID, ok := s.lockJob(w, r)
	if !ok {
		return
	}
	all := []executionBody{}
	for _, id := range s.order {
		e := s.execs[id]
		if e.Tenant != p.Tenant || e.JobID != jobID {
			continue
		}
		if e.hidden > 0 {
			e.hidden--
			continue
		}
		all = append(all, view(e.Execution))
	}
	size := s.pageSize
	s.mu.Unlock()
	from := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, cursorPrefix))
		if !strings.HasPrefix(c, cursorPrefix) || err != nil || n <= 0 || n > len(all) {
			writeError(w, http.StatusBadRequest, "The cursor is not one this list gave.")
			return
		}
		from = n
	}
	items := all[from:]
	var next any // null on the last page
	if size > 0 && len(items) > size {
		items = items[:size]
		next = cursorPrefix + strconv.Itoa(from+size)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"items":             items,
		"response_metadata": map[string]any{"next_cursor": next, "total": len(all)},
	})
}

// cursorPrefix starts the simulator's cursors: an offset into the job's
// list, which only grows at its end.
const cursorPrefix = "after-"

func (s *Sim) status(w http.ResponseWriter, r *http.Request) {
	p := r.Context().Value(principalKey{}).(access.Principal)
	s.mu.Lock()
	e, ok := s.execs[r.PathValue("id")]
	if !ok || e.Tenant != p.Tenant {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "No execution with this id in your tenant.")
		return
	}
	e.Polls++
	if !e.Done() && e.Polls%s.perPoll == 0 {
		s.advance(e)
	}
	body := view(e.Execution)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// advance moves e one status on; called with mu held.
func (s *Sim) advance(e *execution) {
	if e.step+1 < len(s.progress) {
		e.step++
		e.Status = s.progress[e.step]
		return
	}
	e.Status = Succeeded
	if f := s.failures[e.JobID]; f != "" {
		e.Status = f
	}
	e.EndedAt = s.clock()
}

type executionBody struct {
	ID        string `json:"id"`
	JobID     string `json:"jobId"`
	Status    string `json:"status"`
	StartTime string `json:"startTime"`
	EndTime   string `json:"endTime,omitempty"`
}

func view(e Execution) executionBody {
	b := executionBody{ID: e.ID, JobID: e.JobID, Status: e.Status, StartTime: e.StartedAt.Format(time.RFC3339)}
	if !e.EndedAt.IsZero() {
		b.EndTime = e.EndedAt.Format(time.RFC3339)
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers in the project's error shape, with the status's code.
func writeError(w http.ResponseWriter, status int, message string) {
	writeErrorCode(w, status, code(status), message)
}

func writeErrorCode(w http.ResponseWriter, status int, code, message string) {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, message
	writeJSON(w, status, body)
}

func code(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusInternalServerError:
		return "INTERNAL"
	}
	return strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_"))
}

// recorder keeps the status written, for the call log.
type recorder struct {
	http.ResponseWriter
	status int
	lost   bool // the answer was dropped (LoseNextStarts)
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) statusCode() int {
	if r.lost {
		return 0
	}
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
