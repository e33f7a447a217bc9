package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/notices"
	"github.com/dcs-access/dcs-access/internal/tokens"
)

// Rotations. A rotation writes the new token item, records on the old one
// which token replaced it and until when it still works (worksUntil), and
// points the description item at the new token, all in one transaction.
// The description item belongs to the family's newest token, so the old and
// the new token share the description during the overlap, both are listed,
// and nobody else can take the description meanwhile. The new token gets
// its own expiry notices (notices.go) and the old one sends no more. An old
// token carries
// the ttl of its cutoff (worksUntil + PurgeAfter): it stays listed as
// "Replaced" for as long as an expired token stays listed as "Expired".

var _ tokens.RotationStore = (*Store)(nil)

// rotationAttrs are a token item's rotation attributes (access.Rotation),
// all absent on a token that was created and never rotated.
type rotationAttrs struct {
	RotatedFrom string `dynamodbav:"rotatedFrom,omitempty"`
	ReplacedBy  string `dynamodbav:"replacedBy,omitempty"`
	ReplacedAt  string `dynamodbav:"replacedAt,omitempty"`
	WorksUntil  string `dynamodbav:"worksUntil,omitempty"`
	RotationKey string `dynamodbav:"rotationKey,omitempty"`
}

func rotationAttrsOf(r access.Rotation) rotationAttrs {
	a := rotationAttrs{RotatedFrom: r.From}
	if rep := r.Replaced; rep != nil {
		a.ReplacedBy, a.RotationKey = rep.By, rep.Key
		a.ReplacedAt, a.WorksUntil = rep.At.UTC().Format(time.RFC3339), rep.Until.UTC().Format(time.RFC3339)
	}
	return a
}

func (a rotationAttrs) rotation() (access.Rotation, error) {
	r := access.Rotation{From: a.RotatedFrom}
	if a.ReplacedBy == "" {
		return r, nil
	}
	rep := access.Replacement{By: a.ReplacedBy, Key: a.RotationKey}
	var err error
	if rep.At, err = time.Parse(time.RFC3339, a.ReplacedAt); err != nil {
		return r, fmt.Errorf("replacedAt: %w", err)
	}
	if rep.Until, err = time.Parse(time.RFC3339, a.WorksUntil); err != nil {
		return r, fmt.Errorf("worksUntil: %w", err)
	}
	r.Replaced = &rep
	return r, nil
}

// Rotate writes next, records r on old (or deletes old when the overlap is
// 0), hands the description to next and records ev, in one transaction.
// Each write is conditional: old must still be there and not replaced (so
// of two concurrent rotations exactly one succeeds), the description item
// must still be old's, and the tenant policy must still be under
// (policyCheck).
func (s *Store) Rotate(ctx context.Context, old, next access.Token, r access.Replacement, under access.Policy, ev audit.Event) error {
	nextItem := toItem(next)
	nextAV, err := attributevalue.MarshalMap(nextItem)
	if err != nil {
		return access.Internal(err)
	}
	addNoticeKeys(nextAV, next) // the new token's own expiry notices
	pk := tenantKey(old.Tenant)
	notReplaced := aws.String("attribute_exists(sk) AND attribute_not_exists(replacedBy)")
	var oldWrite types.TransactWriteItem
	if r.Until.After(r.At) {
		// The old token sends no more expiry notices (nextNotice done, out of
		// the sparse index): it stops working before it would expire, and
		// its family's newest token has its own.
		update := "SET replacedBy = :by, replacedAt = :at, worksUntil = :until, #ttl = :ttl, nextNotice = :done"
		values := map[string]types.AttributeValue{
			":done":  number(int(notices.Done)),
			":by":    &types.AttributeValueMemberS{Value: r.By},
			":at":    &types.AttributeValueMemberS{Value: r.At.UTC().Format(time.RFC3339)},
			":until": &types.AttributeValueMemberS{Value: r.Until.UTC().Format(time.RFC3339)},
			":ttl":   &types.AttributeValueMemberN{Value: fmt.Sprint(r.Until.Add(PurgeAfter).Unix())},
		}
		if r.Key != "" {
			update += ", rotationKey = :key"
			values[":key"] = &types.AttributeValueMemberS{Value: r.Key}
		}
		update += " REMOVE " + index1PK + ", " + index1SK
		oldWrite.Update = &types.Update{
			TableName: &s.table, Key: key(pk, tokenKey(old.ID)), ConditionExpression: notReplaced,
			UpdateExpression: aws.String(update), ExpressionAttributeNames: map[string]string{"#ttl": "ttl"},
			ExpressionAttributeValues: values,
		}
	} else {
		// No overlap: the old token is revoked at once, as by a delete.
		oldWrite.Delete = &types.Delete{TableName: &s.table, Key: key(pk, tokenKey(old.ID)), ConditionExpression: notReplaced}
	}
	name := &types.Update{
		TableName: &s.table, Key: key(pk, nameKey(old.Description)),
		ConditionExpression:      aws.String("tokenId = :old"),
		ExpressionAttributeNames: map[string]string{"#ttl": "ttl"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":old": &types.AttributeValueMemberS{Value: old.ID},
			":new": &types.AttributeValueMemberS{Value: next.ID},
		},
	}
	if nextItem.TTL != 0 {
		name.UpdateExpression = aws.String("SET tokenId = :new, #ttl = :ttl")
		name.ExpressionAttributeValues[":ttl"] = &types.AttributeValueMemberN{Value: fmt.Sprint(nextItem.TTL)}
	} else {
		name.UpdateExpression = aws.String("SET tokenId = :new REMOVE #ttl") // the new token never expires
	}
	err = s.writeAudited(ctx, ev,
		types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: nextAV, ConditionExpression: aws.String("attribute_not_exists(sk)")}},
		oldWrite,
		types.TransactWriteItem{Update: name},
		s.policyCheck(old.Tenant, under),
	)
	if failedAt(err, 3) {
		return tokens.ErrPolicyChanged()
	}
	switch failed(err) {
	case 0:
		return access.Internal(fmt.Errorf("token id %s already exists", next.ID))
	case 1:
		// Replaced or deleted since it was read: say which.
		now, gerr := s.Get(ctx, old.Tenant, old.ID)
		switch {
		case gerr != nil:
			return gerr
		case now.Rotation.Replaced != nil:
			return tokens.ErrReplaced(now.Rotation.Replaced.By)
		}
		return access.Unavailable(err)
	case 2:
		return access.Internal(fmt.Errorf("the description item of token %s belongs to another token", old.ID))
	}
	return storeError(err)
}
