package awsjson

import (
	"encoding/json"
	"strconv"
	"time"

	smithytime "github.com/aws/smithy-go/time"
)

// Time is a timestamp as the protocols send it by default: seconds since
// the epoch, a JSON number with a fraction (services write it in
// exponent notation too: 1.7e9). It is read to the millisecond, as the
// SDK reads it.
type Time struct{ time.Time }

// UnmarshalJSON reads epoch seconds; null leaves t as it is.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	seconds, err := n.Float64()
	if err != nil {
		return err
	}
	t.Time = smithytime.ParseEpochSeconds(seconds)
	return nil
}

// MarshalJSON writes epoch seconds, to the millisecond.
func (t Time) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(t.UnixMilli())/1e3, 'f', -1, 64), nil
}
