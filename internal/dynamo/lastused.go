package dynamo

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/ddb"
)

// Attributes of a token item that RecordUse writes.
const (
	lastUsedAtAttr = "lastUsedAtMs" // Unix milliseconds: exact comparisons in the condition
	lastUsedIPAttr = "lastUsedIp"
)

// RecordUseAttributes are all the attributes a RecordUse request names (its
// key, its condition, its update): the only ones the authorizer's IAM grant
// of UpdateItem allows (dynamodb:Attributes in template.yaml, which
// templatecheck compares with this list).
var RecordUseAttributes = []string{"pk", "sk", lastUsedAtAttr, lastUsedIPAttr}

// RecordUse records that token id was used at at, from ip ("" when API
// Gateway gave none), with one conditional UpdateItem: only when the item
// still exists (a deleted token's item is never re-created: UpdateItem would
// otherwise create it) and its last use is missing or at or before
// replacesUpTo. Concurrent callers with the same replacesUpTo therefore
// write once between them. recorded is false when the condition kept the
// item as it was, which is no error.
func (s *Store) RecordUse(ctx context.Context, tenant, id string, at time.Time, ip string, replacesUpTo time.Time) (recorded bool, err error) {
	update := "SET #at = :at, #ip = :ip"
	values := map[string]types.AttributeValue{
		":at":     &types.AttributeValueMemberN{Value: strconv.FormatInt(at.UnixMilli(), 10)},
		":cutoff": &types.AttributeValueMemberN{Value: strconv.FormatInt(replacesUpTo.UnixMilli(), 10)},
	}
	if ip == "" {
		update = "SET #at = :at REMOVE #ip" // no address is better than the previous one
	} else {
		values[":ip"] = &types.AttributeValueMemberS{Value: ip}
	}
	_, err = s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(tenantKey(tenant), tokenKey(id)),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("attribute_exists(sk) AND (attribute_not_exists(#at) OR #at <= :cutoff)"),
		ExpressionAttributeNames:  map[string]string{"#at": lastUsedAtAttr, "#ip": lastUsedIPAttr},
		ExpressionAttributeValues: values,
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		return false, nil
	case err != nil:
		return false, storeError(err)
	}
	return true, nil
}
