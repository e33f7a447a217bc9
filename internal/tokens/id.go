package tokens

import "github.com/google/uuid"

// NewID returns a new token id: a UUIDv7, time-ordered so listings sort
// newest first.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }
