package dynamo

import (
	"context"

	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/ddb"
)

// PutAudited is putAudited for the tests: the hook a change that is one
// PutItem (the tenant policy's) moves onto.
func (s *Store) PutAudited(ctx context.Context, ev audit.Event, in *ddb.PutItemInput) error {
	return s.putAudited(ctx, ev, in)
}
