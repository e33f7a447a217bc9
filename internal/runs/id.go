package runs

import (
	"strings"

	"github.com/google/uuid"
)

// RandomSuffix is six random lower-case hex digits, the end of an
// API-started run's id (Service.RandomID).
func RandomSuffix() string { return strings.ReplaceAll(uuid.NewString(), "-", "")[:6] }
