// Command publish-audit-events is the Lambda function on the table's
// DynamoDB stream: it puts each new audit event on the stack's bus as an
// "Audit Event Recorded", and counts any other write to an audit item as
// tampering (internal/auditstream).
package main

import (
	"errors"

	"github.com/dcs-access/dcs-access/internal/auditstream"
	"github.com/dcs-access/dcs-access/internal/emf"
	"github.com/dcs-access/dcs-access/internal/eventbus"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	bus, busErr := eventbus.FromEnv()
	metrics, metricsErr := emf.FromEnv()
	start.Lambda((&auditstream.Handler{Bus: bus, Metrics: metrics}).Handle, errors.Join(busErr, metricsErr))
}
