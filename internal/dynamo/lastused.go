package dynamo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/audit"
	"github.com/dcs-access/dcs-access/internal/ddb"
)

// Attributes of a token item that RecordUse and RecordNewIP write.
const (
	lastUsedAtAttr = "lastUsedAtMs" // Unix milliseconds: exact comparisons in the condition
	lastUsedIPAttr = "lastUsedIp"
	// recentIPsAttr is the token's recent source IPs (access.Token.RecentIPs),
	// a map of address to when it was last seen (Unix ms). It is always
	// written whole, together with lastUsedAtMs and on the condition that
	// lastUsedAtMs is still the one read: lastUsedAtMs is its version, so no
	// write replaces an address another one added, and no request names an
	// address as an attribute (IAM's dynamodb:Attributes sees top-level
	// names only).
	recentIPsAttr = "recentIps"
)

// RecordUseAttributes are all the attributes a RecordUse or RecordNewIP
// update names (its key, its condition, its update): the only ones the
// authorizer's IAM grant of UpdateItem allows (dynamodb:Attributes in
// template.yaml, which templatecheck compares with this list).
var RecordUseAttributes = []string{"pk", "sk", lastUsedAtAttr, lastUsedIPAttr, recentIPsAttr}

// RecordUse records that token t was used at at, from ip ("" when API
// Gateway gave none), with one conditional UpdateItem: only when the item
// still exists (a deleted token's item is never re-created: UpdateItem would
// otherwise create it) and its last use is missing or at or before
// replacesUpTo. Concurrent callers with the same replacesUpTo therefore
// write once between them. When ip is one of t's recent IPs, its last
// sighting moves to at too (so the address least recently seen is the one
// RecordNewIP lets go), on the condition that the last use is still t's.
// recorded is false when the condition kept the item as it was, which is no
// error.
func (s *Store) RecordUse(ctx context.Context, t access.Token, at time.Time, ip string, replacesUpTo time.Time) (recorded bool, err error) {
	update := "SET #at = :at, #ip = :ip"
	cond := "attribute_exists(sk) AND (attribute_not_exists(#at) OR #at <= :cutoff)"
	names := map[string]string{"#at": lastUsedAtAttr, "#ip": lastUsedIPAttr}
	values := map[string]types.AttributeValue{
		":at":     millis(at),
		":cutoff": millis(replacesUpTo),
	}
	switch {
	case ip == "":
		update = "SET #at = :at REMOVE #ip" // no address is better than the previous one
	case t.UsedFrom(ip):
		ips := maps.Clone(t.RecentIPs)
		ips[ip] = at
		update += ", #ips = :ips"
		names["#ips"] = recentIPsAttr
		values[":ips"] = recentIPsValue(ips)
		cond += " AND " + sameLastUse(t, values)
		fallthrough
	default:
		values[":ip"] = &types.AttributeValueMemberS{Value: ip}
	}
	_, err = s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(tenantKey(t.Tenant), tokenKey(t.ID)),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
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

// newIPAttempts bounds RecordNewIP's tries: each loses only to another
// record of the token's use made since it was read.
const newIPAttempts = 3

// RecordNewIP records the first use of token t from ip, at at: ip joins its
// recent IPs (the least recently seen leaves when there are
// access.MaxRecentIPs), its last use is at from ip, and ev is written, in
// one transaction, whatever the time of its last use. It is conditional on
// the token's last use being still the one t was read with: when another
// request recorded a use meanwhile, it reads the token again, and records
// nothing if ip is among its recent IPs by then (that request made the
// record, and its event) or the token is gone. recorded says whether this
// call wrote the event.
func (s *Store) RecordNewIP(ctx context.Context, t access.Token, at time.Time, ip string, ev audit.Event) (recorded bool, err error) {
	for attempt := 1; ; attempt++ {
		values := map[string]types.AttributeValue{
			":at":  millis(at),
			":ip":  &types.AttributeValueMemberS{Value: ip},
			":ips": recentIPsValue(withNewIP(t.RecentIPs, ip, at)),
		}
		err = s.writeAudited(ctx, ev, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: key(tenantKey(t.Tenant), tokenKey(t.ID)),
			UpdateExpression:          aws.String("SET #at = :at, #ip = :ip, #ips = :ips"),
			ConditionExpression:       aws.String("attribute_exists(sk) AND " + sameLastUse(t, values)),
			ExpressionAttributeNames:  map[string]string{"#at": lastUsedAtAttr, "#ip": lastUsedIPAttr, "#ips": recentIPsAttr},
			ExpressionAttributeValues: values,
		}})
		switch {
		case err == nil:
			return true, nil
		case failed(err) != 0:
			return false, storeError(err)
		case attempt == newIPAttempts:
			return false, access.Unavailable(fmt.Errorf("record the new source IP of token %s: %d writers in a row came first", t.ID, attempt))
		}
		if t, err = s.Get(ctx, t.Tenant, t.ID); access.ErrorKind(err) == access.ENOTFOUND {
			return false, nil
		} else if err != nil {
			return false, err
		}
		if t.UsedFrom(ip) {
			return false, nil
		}
	}
}

// sameLastUse is the condition that t's item records the last use t was
// read with (none, or the same millisecond), with its value put in values.
func sameLastUse(t access.Token, values map[string]types.AttributeValue) string {
	if t.LastUsedAt == nil {
		return "attribute_not_exists(#at)"
	}
	values[":read"] = millis(*t.LastUsedAt)
	return "#at = :read"
}

// withNewIP is ips with ip added, seen at at, and, past
// access.MaxRecentIPs, without the addresses least recently seen.
func withNewIP(ips map[string]time.Time, ip string, at time.Time) map[string]time.Time {
	next := maps.Clone(ips)
	if next == nil {
		next = map[string]time.Time{}
	}
	for len(next) >= access.MaxRecentIPs {
		oldest := slices.MinFunc(slices.Collect(maps.Keys(next)), func(a, b string) int {
			return cmp.Or(next[a].Compare(next[b]), cmp.Compare(a, b))
		})
		delete(next, oldest)
	}
	next[ip] = at
	return next
}

func recentIPsValue(ips map[string]time.Time) *types.AttributeValueMemberM {
	m := make(map[string]types.AttributeValue, len(ips))
	for ip, seen := range ips {
		m[ip] = millis(seen)
	}
	return &types.AttributeValueMemberM{Value: m}
}

func millis(t time.Time) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}
