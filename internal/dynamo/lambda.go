package dynamo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/dcs-access/dcs-access/internal/ddb"
	"github.com/dcs-access/dcs-access/internal/env"
)

// FromEnv returns the store a Lambda function uses: the table TABLE_NAME, on
// DynamoDB in the function's region (or AWS_ENDPOINT_URL_DYNAMODB's stand-in),
// keeping the audit events it writes AUDIT_RETENTION_DAYS days (the stack's
// AuditRetentionDays). Every function of the table reads both: a function
// that could write an event without its retention fails at cold start.
func FromEnv() (*Store, error) {
	table, err := env.Must("TABLE_NAME")
	if err != nil {
		return nil, err
	}
	days, err := retentionFromEnv()
	if err != nil {
		return nil, err
	}
	client, err := ddb.FromEnv()
	if err != nil {
		return nil, err
	}
	return New(client, table, time.Now).WithAuditRetention(days), nil
}

// MaxAuditRetentionDays bounds AUDIT_RETENTION_DAYS (the template's
// AuditRetentionDays allows as much): ten years.
const MaxAuditRetentionDays = 3650

func retentionFromEnv() (int, error) {
	v, err := env.Must("AUDIT_RETENTION_DAYS")
	if err != nil {
		return 0, err
	}
	days, err := strconv.Atoi(v)
	if err != nil || days < 1 || days > MaxAuditRetentionDays {
		return 0, fmt.Errorf("AUDIT_RETENTION_DAYS=%q: want a whole number of days from 1 to %d", v, MaxAuditRetentionDays)
	}
	return days, nil
}
