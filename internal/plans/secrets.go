package plans

import (
	"context"

	"github.com/dcs-access/dcs-access/internal/access"
)

// SecretARNs finds a secret's ARN by its name (Secrets Manager's
// DescribeSecret): a secret's ARN ends with a random suffix, so the name
// alone does not give it.
type SecretARNs interface {
	// SecretARN is ENOTFOUND when there is no secret called name.
	SecretARN(ctx context.Context, name string) (string, error)
}

// fillSecrets points the fields of p that name no secret at the secrets
// that the tenant's users stored for the sandbox themselves (PUT
// /sandbox-plans/{sandbox}/salesforce-key, POST …/dcs-token), if there are.
func (s *Service) fillSecrets(ctx context.Context, tenant string, p *Plan) error {
	if s.Secrets == nil || !access.TenantPattern.MatchString(tenant) || !ValidSandbox(p.Sandbox) {
		return nil // validation says what is wrong
	}
	for _, f := range []struct {
		field *string
		kind  string
	}{
		{&p.Salesforce.PrivateKeySecretARN, SalesforceKeySecret},
		{&p.DCS.APITokenSecretARN, DCSTokenSecret},
	} {
		if *f.field != "" {
			continue
		}
		arn, err := s.Secrets.SecretARN(ctx, SecretName(tenant, p.Sandbox, f.kind))
		switch {
		case err == nil:
			*f.field = arn
		case access.ErrorKind(err) != access.ENOTFOUND:
			return err
		}
	}
	return nil
}
