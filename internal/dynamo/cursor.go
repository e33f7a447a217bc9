package dynamo

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
)

// A cursor is the last listed token id and a checksum that binds it to the
// tenant: "<id>.<sha256(tenant|id)[:8]>", base64url encoded. It is opaque to
// clients, and a tampered or foreign cursor is rejected rather than followed.
// A checksum is enough: the cursor grants nothing, the tenant comes from the
// verified caller, so no secret key is needed.

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
	if !ok || uuid.Validate(id) != nil || subtle.ConstantTimeCompare([]byte(sum), []byte(cursorSum(tenant, id))) != 1 {
		return "", bad
	}
	return id, nil
}

func cursorSum(tenant, id string) string {
	h := sha256.Sum256([]byte(tenant + "|" + id))
	return base64.RawURLEncoding.EncodeToString(h[:8])
}
