package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// SandboxProcess statuses (SandboxProcess.Status).
const (
	StatusPending    = "Pending"
	StatusProcessing = "Processing"
	StatusActivating = "Activating"
	StatusCompleted  = "Completed"
	StatusFailed     = "Failed"
	StatusDeleted    = "Deleted"
	StatusDiscarding = "Discarding"
)

// SandboxInfo is a sandbox as production's Tooling API describes it.
type SandboxInfo struct {
	ID           string
	SandboxName  string
	LicenseType  string
	AutoActivate bool
	ApexClassID  string
	Description  string
}

// SandboxProcess is one copy (create or refresh) of a sandbox.
type SandboxProcess struct {
	ID            string
	SandboxInfoID string
	SandboxName   string
	LicenseType   string
	Status        string
	CopyProgress  int // percent
	AutoActivate  bool
	CreatedDate   time.Time
	StartDate     time.Time // zero until the copy starts
	EndDate       time.Time // zero until the copy ends
	ActivatedDate time.Time // zero until the sandbox is activated
}

// Activated reports whether the copied sandbox has replaced the old one.
func (p SandboxProcess) Activated() bool { return !p.ActivatedDate.IsZero() }

type sandboxInfoRecord struct {
	ID           string `json:"Id"`
	SandboxName  string `json:"SandboxName"`
	LicenseType  string `json:"LicenseType"`
	AutoActivate bool   `json:"AutoActivate"`
	ApexClassID  string `json:"ApexClassId"`
	Description  string `json:"Description"`
}

type sandboxProcessRecord struct {
	ID            string `json:"Id"`
	SandboxInfoID string `json:"SandboxInfoId"`
	SandboxName   string `json:"SandboxName"`
	LicenseType   string `json:"LicenseType"`
	Status        string `json:"Status"`
	CopyProgress  int    `json:"CopyProgress"`
	AutoActivate  bool   `json:"AutoActivate"`
	CreatedDate   sfTime `json:"CreatedDate"`
	StartDate     sfTime `json:"StartDate"`
	EndDate       sfTime `json:"EndDate"`
	ActivatedDate sfTime `json:"ActivatedDate"`
}

// FindSandboxInfo returns production's SandboxInfo named name, or an error
// wrapping ErrNotFound.
func (c *Client) FindSandboxInfo(ctx context.Context, name string) (SandboxInfo, error) {
	soql := "SELECT Id, SandboxName, LicenseType, AutoActivate, ApexClassId, Description FROM SandboxInfo WHERE SandboxName = " + quote(name)
	recs, err := queryAll[sandboxInfoRecord](ctx, c, "tooling/query", soql)
	if err != nil {
		return SandboxInfo{}, fmt.Errorf("salesforce: find SandboxInfo %q: %w", name, err)
	}
	if len(recs) == 0 {
		return SandboxInfo{}, fmt.Errorf("salesforce: no SandboxInfo named %q: %w", name, ErrNotFound)
	}
	return SandboxInfo(recs[0]), nil
}

// RefreshSandbox starts a refresh of the sandbox whose SandboxInfo id is id:
// a PATCH of LicenseType and AutoActivate (and ApexClassId when not empty;
// when empty the sandbox keeps its current class). Salesforce then creates a
// SandboxProcess to follow with LatestSandboxProcess.
func (c *Client) RefreshSandbox(ctx context.Context, id, licenseType string, autoActivate bool, apexClassID string) error {
	if id == "" {
		return errors.New("salesforce: refresh sandbox: SandboxInfo id is required")
	}
	body := map[string]any{"LicenseType": licenseType, "AutoActivate": autoActivate}
	if apexClassID != "" {
		body["ApexClassId"] = apexClassID
	}
	if err := c.do(ctx, http.MethodPatch, c.dataPath("tooling/sobjects/SandboxInfo/"+url.PathEscape(id)), body, nil); err != nil {
		return fmt.Errorf("salesforce: refresh sandbox %s: %w", id, err)
	}
	return nil
}

// LatestSandboxProcess returns the most recently created SandboxProcess of
// the sandbox, or an error wrapping ErrNotFound.
func (c *Client) LatestSandboxProcess(ctx context.Context, sandboxName string) (SandboxProcess, error) {
	soql := "SELECT Id, SandboxInfoId, SandboxName, LicenseType, Status, CopyProgress, AutoActivate, CreatedDate, StartDate, EndDate, ActivatedDate" +
		" FROM SandboxProcess WHERE SandboxName = " + quote(sandboxName) + " ORDER BY CreatedDate DESC LIMIT 1"
	recs, err := queryAll[sandboxProcessRecord](ctx, c, "tooling/query", soql)
	if err != nil {
		return SandboxProcess{}, fmt.Errorf("salesforce: latest SandboxProcess of %q: %w", sandboxName, err)
	}
	if len(recs) == 0 {
		return SandboxProcess{}, fmt.Errorf("salesforce: no SandboxProcess for %q: %w", sandboxName, ErrNotFound)
	}
	r := recs[0]
	return SandboxProcess{
		ID:            r.ID,
		SandboxInfoID: r.SandboxInfoID,
		SandboxName:   r.SandboxName,
		LicenseType:   r.LicenseType,
		Status:        r.Status,
		CopyProgress:  r.CopyProgress,
		AutoActivate:  r.AutoActivate,
		CreatedDate:   r.CreatedDate.Time,
		StartDate:     r.StartDate.Time,
		EndDate:       r.EndDate.Time,
		ActivatedDate: r.ActivatedDate.Time,
	}, nil
}
