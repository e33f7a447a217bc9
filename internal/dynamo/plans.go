package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/plans"
)

// Plans are items "PLAN#<sandbox, lower-cased>" in the tenant's partition,
// holding the plan as one JSON document: it is always read and written whole.

var _ plans.Store = (*Store)(nil)

func planKey(sandbox string) string { return "PLAN#" + strings.ToLower(sandbox) }

// PutPlan creates or replaces the plan; created reports whether it is new.
func (s *Store) PutPlan(ctx context.Context, tenant string, p plans.Plan) (bool, error) {
	doc, err := json.Marshal(p)
	if err != nil {
		return false, access.Internal(err)
	}
	item := key(tenantKey(tenant), planKey(p.Sandbox))
	item["plan"] = &types.AttributeValueMemberS{Value: string(doc)}
	out, err := s.client.PutItem(ctx, &ddb.PutItemInput{
		TableName: &s.table, Item: item, ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return false, storeError(err)
	}
	return len(out.Attributes) == 0, nil
}

// GetPlan reads one plan (strongly consistent: a run must use what was just saved).
func (s *Store) GetPlan(ctx context.Context, tenant, sandbox string) (plans.Plan, error) {
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
		TableName: &s.table, Key: key(tenantKey(tenant), planKey(sandbox)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return plans.Plan{}, storeError(err)
	}
	if out.Item == nil {
		return plans.Plan{}, plans.ErrNotFound()
	}
	return decodePlan(out.Item)
}

// ListPlans returns every plan of the tenant, by sandbox name.
func (s *Store) ListPlans(ctx context.Context, tenant string) ([]plans.Plan, error) {
	in := &ddb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: tenantKey(tenant)},
			":prefix": &types.AttributeValueMemberS{Value: "PLAN#"},
		},
	}
	list := []plans.Plan{}
	for p := ddb.NewQueryPaginator(s.client, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, storeError(err)
		}
		for _, item := range out.Items {
			plan, err := decodePlan(item)
			if err != nil {
				return nil, err
			}
			list = append(list, plan)
		}
	}
	return list, nil
}

// DeletePlan removes the plan; a missing plan is not found.
func (s *Store) DeletePlan(ctx context.Context, tenant, sandbox string) error {
	_, err := s.client.DeleteItem(ctx, &ddb.DeleteItemInput{
		TableName: &s.table, Key: key(tenantKey(tenant), planKey(sandbox)),
		ConditionExpression: aws.String("attribute_exists(sk)"),
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return plans.ErrNotFound()
	}
	return storeError(err)
}

func decodePlan(item map[string]types.AttributeValue) (plans.Plan, error) {
	doc, ok := item["plan"].(*types.AttributeValueMemberS)
	if !ok {
		return plans.Plan{}, access.Internal(errors.New("plan item without a plan document"))
	}
	var p plans.Plan
	if err := json.Unmarshal([]byte(doc.Value), &p); err != nil {
		return plans.Plan{}, access.Internal(err)
	}
	return p, nil
}
