package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dcs-access/dcs-access/internal/audit"
)

// PutAudited is putAudited for the tests: the hook a change that is one
// PutItem (the tenant policy's) moves onto.
func (s *Store) PutAudited(ctx context.Context, ev audit.Event, in *dynamodb.PutItemInput) error {
	return s.putAudited(ctx, ev, in)
}
