package dynamo

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
)

// A cursor (the API's nextToken) is the last listed token id and a checksum,
// "<id>.<sha256(tenant|id)[:8]>", base64url encoded. It is opaque to clients
// but not authenticated: the checksum has no key, so anyone who knows the
// format can make a cursor for any id. That is the whole design, because a
// cursor can reach nothing: List always queries the verified caller's
// partition and takes only a token id from the cursor, so a made-up cursor
// can only choose where in the caller's own list a page starts, a list the
// caller may read from the top anyway. The tests prove it against DynamoDB
// Local with cursors forged for every id of two tenants.
//
// The checksum only catches mistakes with a clear INVALID_NEXT_TOKEN: a
// cursor cut short, or one carried over from another tenant's session. An
// HMAC would need a key that every instance of the function shares across
// cold starts, that is a new secret (Secrets Manager, or a KMS HMAC key with
// a call per page), with its IAM grant, cost and local stand-in, to protect
// nothing. The id must be the canonical lower-case UUID, so that each
// position in the list has one cursor.

func encodeCursor(tenant, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id + "." + cursorSum(tenant, id)))
}

func decodeCursor(tenant, cursor string) (string, error) {
	bad := access.Errorf(access.EINVALID, "INVALID_NEXT_TOKEN", "nextToken is not one this API returned. Start again without it.")
	if len(cursor) > 128 {
		return "", bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", bad
	}
	id, sum, ok := strings.Cut(string(raw), ".")
	if !ok || !canonicalUUID(id) || subtle.ConstantTimeCompare([]byte(sum), []byte(cursorSum(tenant, id))) != 1 {
		return "", bad
	}
	return id, nil
}

// canonicalUUID reports whether s is a UUID in the one form the store writes
// ids in; uuid.Validate also takes upper case, braces, "urn:uuid:" and no
// hyphens.
func canonicalUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

func cursorSum(tenant, id string) string {
	h := sha256.Sum256([]byte(tenant + "|" + id))
	return base64.RawURLEncoding.EncodeToString(h[:8])
}
