package secrets

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/dcs-access/dcs-access/internal/access"
	"github.com/dcs-access/dcs-access/internal/secretversions"
)

// Memory is the secrets of the local stack (and of tests): Secrets
// Manager's versions and staging labels as the pipeline, the self-service
// routes and the rotation function use them, kept in memory. Secrets are
// found by ARN or by name.
type Memory struct {
	// ARNPrefix begins the ARN of each secret Store creates, which ends
	// with the name and a random suffix, as in Secrets Manager.
	ARNPrefix string

	mu      sync.Mutex
	secrets map[string]*memSecret // by ARN
}

type memSecret struct {
	arn, name       string
	versions        map[string]*memVersion // by id
	rotationEnabled bool
	lambdaARN       string
	days            int
}

type memVersion struct {
	value  *string
	stages []string
}

// DefaultARNPrefix is the local stack's Secrets Manager: a made-up account.
const DefaultARNPrefix = "arn:aws:secretsmanager:us-east-1:000000000000:secret:"

func (m *Memory) find(id string) *memSecret {
	if s := m.secrets[id]; s != nil {
		return s
	}
	for _, s := range m.secrets {
		if s.name == id {
			return s
		}
	}
	return nil
}

// add makes value the secret's AWSCURRENT version.
func (s *memSecret) add(value string) {
	for _, v := range s.versions {
		v.stages = slices.DeleteFunc(v.stages, func(x string) bool { return x == secretversions.Previous })
		if slices.Contains(v.stages, secretversions.Current) {
			v.stages = append(slices.DeleteFunc(v.stages, func(x string) bool { return x == secretversions.Current }), secretversions.Previous)
		}
	}
	s.versions[uuid.NewString()] = &memVersion{value: &value, stages: []string{secretversions.Current}}
}

// Put makes value the current version of the secret arn (created if need be).
func (m *Memory) Put(arn, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.secrets == nil {
		m.secrets = map[string]*memSecret{}
	}
	s := m.find(arn)
	if s == nil {
		s = &memSecret{arn: arn, name: strings.TrimPrefix(arn, m.prefix()), versions: map[string]*memVersion{}}
		m.secrets[arn] = s
	}
	s.add(value)
}

func (m *Memory) prefix() string {
	if m.ARNPrefix != "" {
		return m.ARNPrefix
	}
	return DefaultARNPrefix
}

// SecretString returns the secret's current value.
func (m *Memory) SecretString(ctx context.Context, id string) (string, error) {
	return m.Version(ctx, id, "", secretversions.Current)
}

// Store makes value the current version of the secret called name,
// creating it if there is none.
func (m *Memory) Store(_ context.Context, name, value, _ string) (secretversions.Stored, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.find(name); s != nil {
		s.add(value)
		return secretversions.Stored{ARN: s.arn}, nil
	}
	if m.secrets == nil {
		m.secrets = map[string]*memSecret{}
	}
	arn := m.prefix() + name + "-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:6]
	s := &memSecret{arn: arn, name: name, versions: map[string]*memVersion{}}
	s.add(value)
	m.secrets[arn] = s
	return secretversions.Stored{ARN: arn, Created: true}, nil
}

// EnableRotation records the secret's rotation; the local stack runs it on
// request (StartRotation), not on a schedule.
func (m *Memory) EnableRotation(_ context.Context, arn, lambdaARN string, days int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.find(arn)
	if s == nil {
		return notFound(arn)
	}
	s.rotationEnabled, s.lambdaARN, s.days = true, lambdaARN, days
	return nil
}

// StartRotation does what Secrets Manager does when a rotation starts: it
// adds a version without a value, labelled AWSPENDING, whose id is the
// rotation's ClientRequestToken, and returns that id. Like Secrets Manager,
// it refuses while another version is AWSPENDING (a rotation in progress).
func (m *Memory) StartRotation(_ context.Context, id string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.find(id)
	if s == nil {
		return "", notFound(id)
	}
	if !s.rotationEnabled {
		return "", access.Errorf(access.ECONFLICT, "ROTATION_NOT_ENABLED", "Secret %s has no rotation turned on.", id)
	}
	for _, v := range s.versions {
		if slices.Contains(v.stages, secretversions.Pending) && !slices.Contains(v.stages, secretversions.Current) {
			return "", access.Errorf(access.ECONFLICT, "ROTATION_IN_PROGRESS", "A previous rotation of secret %s isn't complete.", id)
		}
	}
	token := uuid.NewString()
	s.versions[token] = &memVersion{stages: []string{secretversions.Pending}}
	return token, nil
}

// Describe returns the secret's rotation state.
func (m *Memory) Describe(_ context.Context, id string) (secretversions.Description, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.find(id)
	if s == nil {
		return secretversions.Description{}, notFound(id)
	}
	d := secretversions.Description{ARN: s.arn, Name: s.name, RotationEnabled: s.rotationEnabled, Stages: map[string][]string{}}
	for vid, v := range s.versions {
		if len(v.stages) > 0 {
			d.Stages[vid] = slices.Clone(v.stages)
		}
	}
	return d, nil
}

// Version returns the value of the version versionID, or of the version
// labelled stage.
func (m *Memory) Version(_ context.Context, id, versionID, stage string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.find(id)
	if s == nil {
		return "", notFound(id)
	}
	for vid, v := range s.versions {
		if (versionID == "" || vid == versionID) && (stage == "" || slices.Contains(v.stages, stage)) {
			if v.value == nil {
				break
			}
			return *v.value, nil
		}
	}
	return "", secretversions.ErrNoValue(id, versionID, stage)
}

// PutPending stores value as the version versionID, labelled AWSPENDING
// (and only it: the label leaves any other version).
func (m *Memory) PutPending(_ context.Context, id, versionID, value, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.find(id)
	if s == nil {
		return notFound(id)
	}
	if v := s.versions[versionID]; v != nil && v.value != nil && *v.value != value {
		return fmt.Errorf("secret %s: version %s already has another value", id, versionID)
	}
	for _, v := range s.versions {
		v.stages = slices.DeleteFunc(v.stages, func(x string) bool { return x == secretversions.Pending })
	}
	s.versions[versionID] = &memVersion{value: &value, stages: []string{secretversions.Pending}}
	return nil
}

// Promote moves AWSCURRENT from the version from to versionID (from
// becomes AWSPREVIOUS) and takes AWSPENDING off versionID.
func (m *Memory) Promote(_ context.Context, id, versionID, from string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.find(id)
	if s == nil {
		return notFound(id)
	}
	next, prev := s.versions[versionID], s.versions[from]
	if next == nil || prev == nil || !slices.Contains(prev.stages, secretversions.Current) {
		return fmt.Errorf("secret %s: cannot move AWSCURRENT from %s to %s", id, from, versionID)
	}
	for _, v := range s.versions {
		v.stages = slices.DeleteFunc(v.stages, func(x string) bool { return x == secretversions.Previous })
	}
	prev.stages = append(slices.DeleteFunc(prev.stages, func(x string) bool { return x == secretversions.Current }), secretversions.Previous)
	next.stages = append(slices.DeleteFunc(next.stages, func(x string) bool { return x == secretversions.Pending }), secretversions.Current)
	return nil
}

func notFound(id string) *access.Error {
	return access.Errorf(access.ENOTFOUND, "SECRET_NOT_FOUND", "No such secret: %s.", id)
}

// SecretARN returns the ARN of the secret called name.
func (m *Memory) SecretARN(ctx context.Context, name string) (string, error) {
	d, err := m.Describe(ctx, name)
	return d.ARN, err
}
