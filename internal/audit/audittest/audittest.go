// Package audittest makes audit events for tests that write a change to a
// store directly, without the service that would build its event.
package audittest

import (
	"context"
	"time"

	"github.com/dcs-access/dcs-access/internal/audit"
)

// Actor is the signed-in user the events are made by.
var Actor = audit.Actor{Type: audit.ActorSession, User: "ada@example.com"}

// Event is a complete event of Actor doing action to the target of type
// and id in tenant, now.
func Event(tenant string, action audit.Action, target audit.TargetType, id string) audit.Event {
	return audit.New(context.Background(), tenant, Actor, action, audit.Target{Type: target, ID: id}, time.Now())
}

// TokenCreated is the event of creating token id in tenant.
func TokenCreated(tenant, id string) audit.Event {
	return Event(tenant, audit.TokenCreated, audit.TargetToken, id)
}

// TokenDeleted is the event of deleting token id in tenant.
func TokenDeleted(tenant, id string) audit.Event {
	return Event(tenant, audit.TokenDeleted, audit.TargetToken, id)
}

// PlanSaved is the event of saving a plan in tenant.
func PlanSaved(tenant string) audit.Event {
	return Event(tenant, audit.PlanSaved, audit.TargetPlan, "uat1")
}

// PlanDeleted is the event of deleting a plan in tenant.
func PlanDeleted(tenant string) audit.Event {
	return Event(tenant, audit.PlanDeleted, audit.TargetPlan, "uat1")
}

// RunStarted is the event of starting run id in tenant.
func RunStarted(tenant, id string) audit.Event {
	return Event(tenant, audit.RunStarted, audit.TargetRun, id)
}
