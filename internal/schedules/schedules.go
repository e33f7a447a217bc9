// Package schedules keeps one EventBridge Scheduler schedule per plan that
// has a cron expression: at each time it puts a "Sandbox Refresh Requested"
// event on the stack's bus, which starts a run like any other request.
package schedules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/smithy-go"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/runs"
)

// Source and DetailType are those of the events schedules put on the bus:
// the detail-type the runs function starts runs for.
const (
	Source     = "dcs-access.schedule"
	DetailType = runs.DetailRequested
)

// API is the part of the EventBridge Scheduler API used.
type API interface {
	CreateSchedule(ctx context.Context, in *scheduler.CreateScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error)
	UpdateSchedule(ctx context.Context, in *scheduler.UpdateScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error)
	DeleteSchedule(ctx context.Context, in *scheduler.DeleteScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error)
}

// Scheduler keeps the schedules in one schedule group.
type Scheduler struct {
	API     API
	Group   string // the stack's schedule group
	BusARN  string // the stack's event bus
	RoleARN string // the role EventBridge Scheduler puts events with
}

// Name is a plan's schedule name: unique per tenant and sandbox, within
// Scheduler's 64 characters of [0-9A-Za-z-_.].
func Name(tenant, sandbox string) string {
	h := sha256.Sum256([]byte(tenant))
	return "refresh-" + hex.EncodeToString(h[:8]) + "-" + strings.ToLower(sandbox)
}

// Put creates or updates the schedule of the tenant's sandbox.
func (s Scheduler) Put(ctx context.Context, tenant, sandbox, expression string) error {
	detail, err := json.Marshal(map[string]string{"tenant": tenant, "sandbox": sandbox})
	if err != nil {
		return access.Internal(err)
	}
	name := Name(tenant, sandbox)
	target := &types.Target{
		Arn: aws.String(s.BusARN), RoleArn: aws.String(s.RoleARN), Input: aws.String(string(detail)),
		EventBridgeParameters: &types.EventBridgeParameters{DetailType: aws.String(DetailType), Source: aws.String(Source)},
		RetryPolicy:           &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(5), MaximumEventAgeInSeconds: aws.Int32(3600)},
	}
	desc := aws.String(fmt.Sprintf("Refreshes sandbox %s of tenant %s", sandbox, tenant))
	off := &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}
	_, err = s.API.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name: &name, GroupName: &s.Group, ScheduleExpression: &expression, ScheduleExpressionTimezone: aws.String("UTC"),
		FlexibleTimeWindow: off, Target: target, State: types.ScheduleStateEnabled, Description: desc,
	})
	var conflict *types.ConflictException
	if errors.As(err, &conflict) {
		_, err = s.API.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{
			Name: &name, GroupName: &s.Group, ScheduleExpression: &expression, ScheduleExpressionTimezone: aws.String("UTC"),
			FlexibleTimeWindow: off, Target: target, State: types.ScheduleStateEnabled, Description: desc,
		})
	}
	return translate("put the schedule", err)
}

// Delete removes the schedule of the tenant's sandbox, if any.
func (s Scheduler) Delete(ctx context.Context, tenant, sandbox string) error {
	name := Name(tenant, sandbox)
	_, err := s.API.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: &name, GroupName: &s.Group})
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		return nil
	}
	return translate("delete the schedule", err)
}

func translate(what string, err error) error {
	if err == nil {
		return nil
	}
	var validation *types.ValidationException
	if errors.As(err, &validation) {
		// Scheduler checks the expression more fully than the plan's validation.
		return access.Errorf(access.EINVALID, "INVALID_PLAN", "schedule is not an expression EventBridge Scheduler accepts: %s", aws.ToString(validation.Message))
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode() == "ThrottlingException" || apiErr.ErrorCode() == "InternalServerException") {
		return access.Unavailable(fmt.Errorf("%s: %w", what, err))
	}
	return access.Internal(fmt.Errorf("%s: %w", what, err))
}

// Memory keeps schedules for the local stack, which fires them itself (see
// Due): the same expressions, evaluated by Cron instead of by Scheduler.
type Memory struct {
	mu    sync.Mutex
	items map[string]entry
}

type entry struct {
	tenant, sandbox string
	expression      string
	cron            Cron
	local           bool // false: an expression only EventBridge can evaluate
}

// Put records the schedule.
func (m *Memory) Put(_ context.Context, tenant, sandbox, expression string) error {
	c, err := ParseCron(expression)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items == nil {
		m.items = map[string]entry{}
	}
	m.items[Name(tenant, sandbox)] = entry{tenant: tenant, sandbox: sandbox, expression: expression, cron: c, local: err == nil}
	return nil
}

// Delete forgets the schedule.
func (m *Memory) Delete(_ context.Context, tenant, sandbox string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, Name(tenant, sandbox))
	return nil
}

// Get returns the expression of the tenant's sandbox's schedule.
func (m *Memory) Get(tenant, sandbox string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.items[Name(tenant, sandbox)]
	return e.expression, ok
}

// Fire is one schedule that is due.
type Fire struct{ Name, Tenant, Sandbox string }

// Due returns the schedules that fire in at's minute.
func (m *Memory) Due(at time.Time) []Fire {
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []Fire
	for name, e := range m.items {
		if e.local && e.cron.Matches(at) {
			due = append(due, Fire{Name: name, Tenant: e.tenant, Sandbox: e.sandbox})
		}
	}
	return due
}
