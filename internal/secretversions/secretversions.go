// Package secretversions is what dcs-access knows of a Secrets Manager
// secret besides its value: where it is, its versions and their staging
// labels. It imports no client, so that the domain packages that speak of
// secrets (internal/pipelinesecrets, internal/tokenrotation) and the API's
// handlers link none; internal/secrets is the adapter that fills these in.
package secretversions

import "github.com/dcs-access/dcs-access/internal/access"

// Staging labels of Secrets Manager's rotation: the version readers get
// (AWSCURRENT), the one a rotation is making (AWSPENDING), and the one
// AWSCURRENT was last moved from (AWSPREVIOUS, which Secrets Manager sets
// itself). https://docs.aws.amazon.com/secretsmanager/latest/userguide/whats-in-a-secret.html
const (
	Current  = "AWSCURRENT"
	Pending  = "AWSPENDING"
	Previous = "AWSPREVIOUS"
)

// Description is what a rotation needs to know of a secret (DescribeSecret).
type Description struct {
	ARN             string
	Name            string
	RotationEnabled bool
	// Stages are the staging labels of each version, by version id; a
	// version without a label is not listed.
	Stages map[string][]string
}

// CurrentVersion is the id of the version labelled AWSCURRENT ("" if none).
func (d Description) CurrentVersion() string {
	for id, stages := range d.Stages {
		for _, s := range stages {
			if s == Current {
				return id
			}
		}
	}
	return ""
}

// ErrNoValue is the error of a version (or a label) that holds no value:
// Secrets Manager's ResourceNotFoundException, which is also what it
// answers for the value-less AWSPENDING version that a rotation starts with.
func ErrNoValue(id, version, stage string) *access.Error {
	return access.Errorf(access.ENOTFOUND, "SECRET_VALUE_NOT_FOUND", "Secret %s has no value for version %q, stage %q.", id, version, stage)
}

// Stored is where a value was stored.
type Stored struct {
	ARN     string
	Created bool // the secret is new (its first version)
}
