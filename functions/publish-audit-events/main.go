// Command publish-audit-events is the Lambda function on the table's
// DynamoDB stream: it puts each new audit event on the stack's bus as an
// "Audit Event Recorded" (internal/auditstream).
package main

import (
	"github.com/dcs-access/dcs-access/internal/auditstream"
	"github.com/dcs-access/dcs-access/internal/eventbus"
	"github.com/dcs-access/dcs-access/internal/start"
)

func main() {
	bus, err := eventbus.FromEnv()
	start.Lambda((&auditstream.Handler{Bus: bus}).Handle, err)
}
