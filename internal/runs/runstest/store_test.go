package runstest_test

import (
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/runs/runstest"
)

func TestTheMemoryStoreKeepsTheStoreContract(t *testing.T) {
	runstest.CheckStore(t, func(_ *testing.T, now func() time.Time) runstest.AuditedStore { return runstest.NewStore(now) })
}
