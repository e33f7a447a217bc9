package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/tenantpolicy"
)

// The tenant's token policy is one item, "POLICY", in the tenant's
// partition, written whole by tenantpolicy.Service.Put: each change puts
// the next version on the condition that the stored one is the version it
// was made from (optimistic concurrency; docs/security.md, "Tenant policy").

var _ tenantpolicy.Store = (*Store)(nil)

const policySK = "POLICY"

type policyItem struct {
	PK              string         `dynamodbav:"pk"`
	SK              string         `dynamodbav:"sk"`
	MaxLifespanDays *int           `dynamodbav:"maxLifespanDays,omitempty"`
	RequireExpiry   bool           `dynamodbav:"requireExpiry"`
	AllowedScopes   []access.Scope `dynamodbav:"allowedScopes"`
	OwnerOnlyDelete bool           `dynamodbav:"ownerOnlyDelete"`
	Version         int            `dynamodbav:"version"`
}

// PolicyAttributes are every attribute a policy item has: all that the
// policy function's PutItem grant lets it write (templatecheck builds the
// grant's condition from this list, and a test holds PutPolicy to it).
var PolicyAttributes = []string{"pk", "sk", "maxLifespanDays", "requireExpiry", "allowedScopes", "ownerOnlyDelete", "version"}

// GetPolicy reads the tenant's policy with a strongly consistent read (a
// policy just set applies to the very next token), or the default policy
// when none is stored.
func (s *Store) GetPolicy(ctx context.Context, tenant string) (access.Policy, error) {
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
		TableName: &s.table, Key: key(tenantKey(tenant), policySK), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return access.Policy{}, storeError(err)
	}
	if out.Item == nil {
		return access.DefaultPolicy(), nil
	}
	var it policyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return access.Policy{}, access.Internal(err)
	}
	// A stored list is the set's, in its order: anything else is refused
	// rather than read as something the administrators did not write.
	scopes, err := access.ParseScopes(scopeNames(it.AllowedScopes))
	if err != nil || len(scopes) != len(it.AllowedScopes) {
		return access.Policy{}, access.Internal(fmt.Errorf("the policy item of tenant %s has allowedScopes %v: %v", tenant, it.AllowedScopes, err))
	}
	return access.Policy{
		MaxLifespanDays: it.MaxLifespanDays, RequireExpiry: it.RequireExpiry,
		AllowedScopes: scopes, OwnerOnlyDelete: it.OwnerOnlyDelete, Version: it.Version,
	}, nil
}

// PutPolicy stores p, whose Version is the next one, if the stored policy
// is still the version before it (none stored for version 1); otherwise
// nothing is written and the error is tenantpolicy.ErrChanged. Its audit
// event ev is written in the same transaction.
func (s *Store) PutPolicy(ctx context.Context, tenant string, p access.Policy, ev audit.Event) error {
	if p.Version < 1 {
		return access.Internal(fmt.Errorf("policy version %d: a stored policy is version 1 or later", p.Version))
	}
	item, err := attributevalue.MarshalMap(policyItem{
		PK: tenantKey(tenant), SK: policySK, MaxLifespanDays: p.MaxLifespanDays, RequireExpiry: p.RequireExpiry,
		AllowedScopes: p.AllowedScopes, OwnerOnlyDelete: p.OwnerOnlyDelete, Version: p.Version,
	})
	if err != nil {
		return access.Internal(err)
	}
	in := &ddb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(sk)")}
	if p.Version > 1 {
		in.ConditionExpression = aws.String("version = :previous")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":previous": &types.AttributeValueMemberN{Value: strconv.Itoa(p.Version - 1)}}
	}
	err = s.putAudited(ctx, ev, in)
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return tenantpolicy.ErrChanged()
	}
	return storeError(err)
}

// PolicyCheckAttributes are the attributes of the policy item that
// policyCheck's condition reads, its key included: all that the minting
// and delete functions' ConditionCheckItem grant names (templatecheck
// builds the grant's condition from this list, and a test holds
// policyCheck to it).
var PolicyCheckAttributes = []string{"pk", "sk", "version"}

// policyCheck is the transaction item that holds a token's create,
// rotation or delete to the tenant policy it was decided under: the policy
// item is still under's version, or absent when under is the default
// policy (version 0, none stored). An administrator's change between the
// decision and the write fails it, and so the transaction
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
func (s *Store) policyCheck(tenant string, under access.Policy) types.TransactWriteItem {
	check := &types.ConditionCheck{TableName: &s.table, Key: key(tenantKey(tenant), policySK)}
	if under.Version == 0 {
		check.ConditionExpression = aws.String("attribute_not_exists(sk)")
	} else {
		check.ConditionExpression = aws.String("version = :version")
		check.ExpressionAttributeValues = map[string]types.AttributeValue{":version": &types.AttributeValueMemberN{Value: strconv.Itoa(under.Version)}}
	}
	return types.TransactWriteItem{ConditionCheck: check}
}

func scopeNames(scopes []access.Scope) []string {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	return names
}
