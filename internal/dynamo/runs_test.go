package dynamo_test

import (
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/runs/runstest"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

func TestTheRunStoreKeepsTheStoreContract(t *testing.T) {
	runstest.CheckStore(t, func(t *testing.T, now func() time.Time) runstest.AuditedStore {
		client, table := testenv.Table(t)
		return dynamo.New(client, table, now)
	})
}
