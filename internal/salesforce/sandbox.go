package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SandboxProcess.Status values, as records hold them (SOQL filters name the
// codes instead, such as 'D' for Deleted). The Tooling API reference lists
// them with no meaning beyond their names, and no "Failed": a copy that
// does not finish ends Stopped or Suspended, or is Deleted.
// https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/tooling_api_objects_sandboxprocess.htm
const (
	StatusPending              = "Pending"
	StatusProcessing           = "Processing"
	StatusSampling             = "Sampling"
	StatusPendingActivation    = "Pending Activation"
	StatusActivating           = "Activating"
	StatusActivationConfirmed  = "Activation Confirmed"
	StatusActivationProcessing = "Activation Processing"
	StatusCompleted            = "Completed"
	StatusDiscarding           = "Discarding"
	StatusDeleting             = "Deleting"
	StatusDeleted              = "Deleted"
	StatusStopped              = "Stopped"
	StatusSuspended            = "Suspended"
)

// License types (SandboxInfo.LicenseType) as the Tooling API reference
// spells them.
const (
	LicenseDeveloper    = "DEVELOPER"
	LicenseDeveloperPro = "DEVELOPER_PRO"
	LicensePartial      = "PARTIAL"
	LicenseFull         = "FULL"
)

// RefreshInterval is how long after a copy Salesforce lets a sandbox of a
// license be refreshed again: once a day for Developer and Developer Pro, 5
// days for Partial Copy, 29 days for Full ("Sandbox Licenses and Storage
// Limits by Type", Salesforce Help). 0 for an unknown license.
func RefreshInterval(license string) time.Duration {
	switch NormalizeLicense(license) {
	case LicenseDeveloper, LicenseDeveloperPro:
		return 24 * time.Hour
	case LicensePartial:
		return 5 * 24 * time.Hour
	case LicenseFull:
		return 29 * 24 * time.Hour
	}
	return 0
}

// NormalizeLicense spells a license type as the reference does: the
// Salesforce CLI writes "DEVELOPER PRO", the reference DEVELOPER_PRO.
func NormalizeLicense(license string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(license), " ", "_"))
}

// SandboxInfo is a sandbox as production's Tooling API describes it.
type SandboxInfo struct {
	ID                    string
	SandboxName           string
	LicenseType           string
	AutoActivate          bool
	ApexClassID           string
	Description           string
	HistoryDays           int
	CopyChatter           bool
	SourceID              string
	ActivationUserGroupID string
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

// RefreshOptions are the SandboxInfo fields a refresh sets. Empty strings
// leave a field as the sandbox has it, but for LicenseType, which a clone
// (SourceID set) must send as null.
type RefreshOptions struct {
	LicenseType  string
	AutoActivate bool
	ApexClassID  string
	Description  string
	// HistoryDays and CopyChatter apply to Full sandboxes only, and are
	// sent only for them: -1 (all), 0 (the default), 10, 20, 30, 60, 90,
	// 120, 150 or 180 days of field history.
	HistoryDays int
	CopyChatter bool
	// SourceID makes the refresh a clone of another sandbox (its
	// SandboxInfo id) instead of a copy of production.
	SourceID string
	// ActivationUserGroupID is the public group of the users who may use
	// the sandbox (Selective Sandbox Access): required for Developer and
	// Developer Pro sandboxes since Spring '25, unavailable for clones.
	ActivationUserGroupID string
}

// body is the PATCH body of a refresh with these options.
func (o RefreshOptions) body() map[string]any {
	b := map[string]any{"AutoActivate": o.AutoActivate}
	if o.SourceID != "" {
		b["SourceId"], b["LicenseType"] = o.SourceID, nil
	} else {
		b["LicenseType"] = NormalizeLicense(o.LicenseType)
	}
	if NormalizeLicense(o.LicenseType) == LicenseFull {
		b["HistoryDays"], b["CopyChatter"] = o.HistoryDays, o.CopyChatter
	}
	for field, v := range map[string]string{"ApexClassId": o.ApexClassID, "Description": o.Description, "ActivationUserGroupId": o.ActivationUserGroupID} {
		if v != "" {
			b[field] = v
		}
	}
	return b
}

type sandboxInfoRecord struct {
	ID                    string `json:"Id"`
	SandboxName           string `json:"SandboxName"`
	LicenseType           string `json:"LicenseType"`
	AutoActivate          bool   `json:"AutoActivate"`
	ApexClassID           string `json:"ApexClassId"`
	Description           string `json:"Description"`
	HistoryDays           int    `json:"HistoryDays"`
	CopyChatter           bool   `json:"CopyChatter"`
	SourceID              string `json:"SourceId"`
	ActivationUserGroupID string `json:"ActivationUserGroupId"`
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

const (
	sandboxInfoFields    = "Id, SandboxName, LicenseType, AutoActivate, ApexClassId, Description, HistoryDays, CopyChatter, SourceId, ActivationUserGroupId"
	sandboxProcessFields = "Id, SandboxInfoId, SandboxName, LicenseType, Status, CopyProgress, AutoActivate, CreatedDate, StartDate, EndDate, ActivatedDate"
)

// FindSandboxInfo returns production's SandboxInfo named name, or an error
// wrapping ErrNotFound.
func (c *Client) FindSandboxInfo(ctx context.Context, name string) (SandboxInfo, error) {
	recs, err := queryAll[sandboxInfoRecord](ctx, c, "tooling/query", "SELECT "+sandboxInfoFields+" FROM SandboxInfo WHERE SandboxName = "+quote(name))
	if err != nil {
		return SandboxInfo{}, fmt.Errorf("salesforce: find SandboxInfo %q: %w", name, err)
	}
	if len(recs) == 0 {
		return SandboxInfo{}, fmt.Errorf("salesforce: no SandboxInfo named %q: %w", name, ErrNotFound)
	}
	r := recs[0]
	r.LicenseType = NormalizeLicense(r.LicenseType)
	return SandboxInfo(r), nil
}

// RefreshSandbox starts a refresh of the sandbox whose SandboxInfo id is id,
// a PATCH of the SandboxInfo: Salesforce then creates a SandboxProcess to
// follow. "To start a sandbox refresh, edit the SandboxInfo record."
func (c *Client) RefreshSandbox(ctx context.Context, id string, opts RefreshOptions) error {
	if id == "" {
		return errors.New("salesforce: refresh sandbox: SandboxInfo id is required")
	}
	if err := c.do(ctx, http.MethodPatch, c.dataPath("tooling/sobjects/SandboxInfo/"+url.PathEscape(id)), opts.body(), nil); err != nil {
		return fmt.Errorf("salesforce: refresh sandbox %s: %w", id, err)
	}
	return nil
}

// ActivateSandbox activates a finished copy that waits in Pending
// Activation (started without AutoActivate): a PATCH of its SandboxProcess's
// RefreshAction, allowed on the latest copy of a sandbox in that status.
// The copy then replaces the sandbox, its data reachable from that moment.
func (c *Client) ActivateSandbox(ctx context.Context, processID string) error {
	if processID == "" {
		return errors.New("salesforce: activate sandbox: SandboxProcess id is required")
	}
	body := map[string]string{"RefreshAction": "ACTIVATE"}
	if err := c.do(ctx, http.MethodPatch, c.dataPath("tooling/sobjects/SandboxProcess/"+url.PathEscape(processID)), body, nil); err != nil {
		return fmt.Errorf("salesforce: activate sandbox copy %s: %w", processID, err)
	}
	return nil
}

// LatestSandboxProcess returns the most recently created SandboxProcess of
// the sandbox, or an error wrapping ErrNotFound.
func (c *Client) LatestSandboxProcess(ctx context.Context, sandboxName string) (SandboxProcess, error) {
	p, err := c.sandboxProcess(ctx, "SandboxName = "+quote(sandboxName)+" ORDER BY CreatedDate DESC LIMIT 1")
	if err != nil {
		return SandboxProcess{}, fmt.Errorf("salesforce: latest SandboxProcess of %q: %w", sandboxName, err)
	}
	return p, nil
}

// SandboxProcess returns the SandboxProcess with this id, or an error
// wrapping ErrNotFound.
func (c *Client) SandboxProcess(ctx context.Context, id string) (SandboxProcess, error) {
	p, err := c.sandboxProcess(ctx, "Id = "+quote(id))
	if err != nil {
		return SandboxProcess{}, fmt.Errorf("salesforce: SandboxProcess %s: %w", id, err)
	}
	return p, nil
}

func (c *Client) sandboxProcess(ctx context.Context, where string) (SandboxProcess, error) {
	recs, err := queryAll[sandboxProcessRecord](ctx, c, "tooling/query", "SELECT "+sandboxProcessFields+" FROM SandboxProcess WHERE "+where)
	if err != nil {
		return SandboxProcess{}, err
	}
	if len(recs) == 0 {
		return SandboxProcess{}, ErrNotFound
	}
	r := recs[0]
	return SandboxProcess{
		ID:            r.ID,
		SandboxInfoID: r.SandboxInfoID,
		SandboxName:   r.SandboxName,
		LicenseType:   NormalizeLicense(r.LicenseType),
		Status:        r.Status,
		CopyProgress:  r.CopyProgress,
		AutoActivate:  r.AutoActivate,
		CreatedDate:   r.CreatedDate.Time,
		StartDate:     r.StartDate.Time,
		EndDate:       r.EndDate.Time,
		ActivatedDate: r.ActivatedDate.Time,
	}, nil
}

// ApexClassID returns the id of the org's own Apex class named name (not one
// of a managed package, which may share the name), or an error wrapping
// ErrNotFound.
func (c *Client) ApexClassID(ctx context.Context, name string) (string, error) {
	id, err := c.idByName(ctx, "SELECT Id FROM ApexClass WHERE Name = "+quote(name)+" AND NamespacePrefix = null")
	if err != nil {
		return "", fmt.Errorf("salesforce: Apex class %q: %w", name, err)
	}
	return id, nil
}

// PublicGroupID returns the id of the public group (Group of Type Regular;
// queues and roles are groups too) named name, or an error wrapping
// ErrNotFound.
func (c *Client) PublicGroupID(ctx context.Context, name string) (string, error) {
	id, err := c.idByName(ctx, "SELECT Id FROM Group WHERE Type = 'Regular' AND Name = "+quote(name))
	if err != nil {
		return "", fmt.Errorf("salesforce: public group %q: %w", name, err)
	}
	return id, nil
}

// ErrAmbiguous is returned (wrapped) when a name names more than one record.
var ErrAmbiguous = errors.New("salesforce: the name matches more than one record")

func (c *Client) idByName(ctx context.Context, soql string) (string, error) {
	type record struct {
		ID string `json:"Id"`
	}
	recs, err := queryAll[record](ctx, c, "query", soql)
	switch {
	case err != nil:
		return "", err
	case len(recs) == 0:
		return "", ErrNotFound
	case len(recs) > 1:
		return "", ErrAmbiguous
	}
	return recs[0].ID, nil
}
