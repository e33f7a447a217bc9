// Command dcs-token-rotation is the Secrets Manager rotation function of the
// pipeline's DCS API tokens (the dcs-access/<tenant>/<sandbox>/dcs-token
// secrets): it rotates each token through the API with the token itself,
// so it holds no grant on the token table or the signing keys, only on
// those secrets.
package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dcs-access/dcs-access/internal/apiclient"
	"github.com/dcs-access/dcs-access/internal/env"
	"github.com/dcs-access/dcs-access/internal/secrets"
	"github.com/dcs-access/dcs-access/internal/start"
	"github.com/dcs-access/dcs-access/internal/tokenrotation"
)

func main() {
	sm, smErr := secrets.FromEnv()
	api, apiErr := apiFromEnv()
	overlap, overlapErr := overlapFromEnv()
	r := &tokenrotation.Rotator{Secrets: sm, API: api, OverlapMinutes: overlap}
	start.Lambda(r.Handle, errors.Join(smErr, apiErr, overlapErr))
}

// apiFromEnv is the API at API_URL; a call may take 10 s of the function's 30.
func apiFromEnv() (*apiclient.Client, error) {
	url, err := env.Must("API_URL")
	if err != nil {
		return nil, err
	}
	return apiclient.New(url, 10*time.Second)
}

// overlapFromEnv is OVERLAP_MINUTES, a whole number; the API refuses one
// over its largest overlap (tokens.MaxOverlapMinutes), and so does the
// template's parameter.
func overlapFromEnv() (int, error) {
	v, err := env.Must("OVERLAP_MINUTES")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("OVERLAP_MINUTES=%q: want a whole number of minutes", v)
	}
	return n, nil
}
