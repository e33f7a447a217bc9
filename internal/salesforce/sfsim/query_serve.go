package sfsim

import (
	"fmt"
	"net/http"
)

// cursor holds the records of a query still to be served by nextRecordsUrl.
type cursor struct {
	org     *org
	tooling bool
	version string
	entity  string // entityTypeName, Tooling API only
	offset  int
	total   int
	rest    []map[string]any
}

const maxSOQLLength = 100000

// rows returns the records of object in org o, each keyed by field name.
// In StepPerPoll mode, reading a refresh in progress moves it one status on,
// before it is read; q selects which ones.
func (s *Sim) rows(o *org, q resolvedQuery) []map[string]any {
	var rows []map[string]any
	switch q.schema.name {
	case "User":
		for _, u := range o.users {
			rows = append(rows, u.row())
		}
	case "UserLogin":
		for _, u := range o.users {
			rows = append(rows, u.loginRow())
		}
	case "Profile":
		for _, p := range o.profiles {
			rows = append(rows, map[string]any{"Id": p.id, "Name": p.name})
		}
	case "ApexClass":
		for _, c := range o.apexClasses {
			rows = append(rows, map[string]any{"Id": c.id, "Name": c.name, "NamespacePrefix": nullable(c.namespace), "Status": "Active"})
		}
	case "Group":
		for _, g := range o.groups {
			rows = append(rows, map[string]any{"Id": g.id, "Name": g.name, "DeveloperName": g.developerName, "Type": g.kind})
		}
	case "SandboxInfo":
		if o == s.prod {
			for _, i := range s.infos {
				rows = append(rows, i.row())
			}
		}
	case "SandboxProcess":
		if o != s.prod {
			break
		}
		if s.opts.StepPerPoll {
			all := map[string]bool{}
			for _, r := range q.selectRows(s.processRows()) {
				all[r["Id"].(string)] = true
			}
			for _, p := range s.procs {
				if all[p.id] && inProgress(p) {
					s.step(p, s.opts.Now())
				}
			}
		}
		rows = s.processRows()
	}
	return rows
}

func (s *Sim) processRows() []map[string]any {
	rows := make([]map[string]any, len(s.procs))
	for i, p := range s.procs {
		rows[i] = p.row()
	}
	return rows
}

type queryResponse struct {
	Size           *int             `json:"size,omitempty"` // Tooling API only
	TotalSize      int              `json:"totalSize"`
	Done           bool             `json:"done"`
	NextRecordsURL string           `json:"nextRecordsUrl,omitempty"`
	EntityTypeName string           `json:"entityTypeName,omitempty"` // Tooling API only
	Records        []map[string]any `json:"records"`
}

func (s *Sim) queryPath(req apiRequest) string {
	if req.tooling {
		return "/services/data/" + req.version + "/tooling/"
	}
	return "/services/data/" + req.version + "/"
}

// serveQuery is GET /query?q= and /tooling/query?q=.
func (s *Sim) serveQuery(w http.ResponseWriter, req apiRequest) {
	if req.soql == "" {
		writeError(w, newRESTError(400, "MALFORMED_QUERY", "The query parameter q is required."))
		return
	}
	if len(req.soql) > maxSOQLLength {
		writeError(w, newRESTError(400, "MALFORMED_QUERY", fmt.Sprintf("Query is too long: %d characters, the limit is %d.", len(req.soql), maxSOQLLength)))
		return
	}
	parsed, perr := parseSOQL(req.soql)
	if perr != nil {
		writeError(w, perr)
		return
	}
	q, rerr := resolve(parsed, req.tooling, req.version)
	if rerr != nil {
		writeError(w, rerr)
		return
	}
	records := q.project(q.selectRows(s.rows(req.org, q)), s.queryPath(req)+"sobjects/")
	c := &cursor{org: req.org, tooling: req.tooling, version: req.version, total: len(records), rest: records}
	if req.tooling {
		c.entity = q.schema.name
	}
	s.writePage(w, req, c)
}

// serveNextPage is GET /query/{locator}: the page a nextRecordsUrl names.
func (s *Sim) serveNextPage(w http.ResponseWriter, req apiRequest) {
	c := s.cursors[req.locator]
	if c == nil || c.org != req.org || c.tooling != req.tooling {
		writeError(w, newRESTError(400, "INVALID_QUERY_LOCATOR", "invalid query locator"))
		return
	}
	delete(s.cursors, req.locator)
	s.writePage(w, req, c)
}

func (s *Sim) writePage(w http.ResponseWriter, req apiRequest, c *cursor) {
	page := c.rest[:min(len(c.rest), s.opts.PageSize)]
	resp := queryResponse{TotalSize: c.total, Done: true, Records: page}
	if resp.Records == nil {
		resp.Records = []map[string]any{}
	}
	if req.tooling {
		n := len(page)
		resp.Size, resp.EntityTypeName = &n, c.entity
	}
	if len(page) < len(c.rest) {
		next := *c
		next.rest = c.rest[len(page):]
		next.offset = c.offset + len(page)
		s.seq++
		locator := fmt.Sprintf("01g%012dAAA-%d", s.seq, next.offset)
		s.cursors[locator] = &next
		resp.Done = false
		resp.NextRecordsURL = s.queryPath(req) + "query/" + locator
	}
	writeJSON(w, http.StatusOK, resp)
}
