package access

import "time"

// Rotation is a token's place in its rotation family: a rotation replaces a
// token with a new one of the same description, user and lifespan, and the
// old one keeps working until its overlap ends.
type Rotation struct {
	// From is the id of the token this one replaced; "" for a token that
	// was created, not rotated.
	From string
	// Replaced is set once a rotation has replaced this token; a replaced
	// token cannot be rotated again (its family's newest token can).
	Replaced *Replacement
}

// Replacement is what a rotation recorded on the token it replaced.
type Replacement struct {
	By    string    // the new token's id
	At    time.Time // when it was rotated
	Until time.Time // the end of the overlap: the token is refused from then on
	// Key is the rotation's Idempotency-Key ("" for none): a retried
	// rotation with the same key answers with the same new token.
	Key string
}

// CutOff reports whether a rotation replaced the token and its overlap has
// ended at now: from then on it is refused, like a deleted token.
func (t Token) CutOff(now time.Time) bool {
	r := t.Rotation.Replaced
	return r != nil && !now.Before(r.Until)
}
