package pipeline

import (
	"context"
	"time"

	"github.com/dcs-access/dcs-access/internal/dcs"
	"github.com/dcs-access/dcs-access/internal/plans"
	"github.com/dcs-access/dcs-access/internal/salesforce"
)

// New returns the steps as they run in AWS: secrets read from secrets, the
// real Salesforce and DCS, plans' secrets scoped to their tenants. The steps
// function runs them, and the plans function checks plans with them.
func New(secrets Secrets) *Steps {
	return &Steps{
		Secrets: secrets,
		Connect: func(ctx context.Context, c salesforce.Config) (Org, error) {
			return salesforce.Connect(ctx, c)
		},
		NewDCS:    func(c dcs.Config) (MaskingJobs, error) { return dcs.New(c) },
		Validator: plans.Validator{SecretPrefix: plans.SecretPrefix},
		Now:       time.Now,
	}
}
