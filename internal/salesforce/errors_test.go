package salesforce_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/salesforce"
	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
)

func TestAPIErrorsAreTransientOrPermanent(t *testing.T) {
	tests := []struct {
		name          string
		fault         func(*sfsim.Sim)
		wantStatus    int
		wantCode      string
		wantTransient bool
	}{
		{"a 503 is transient", func(s *sfsim.Sim) { s.FailNext(1, http.StatusServiceUnavailable) }, 503, "SERVER_UNAVAILABLE", true},
		{"the concurrent request limit (403) is transient", func(s *sfsim.Sim) { s.ExceedLimitNext(1, sfsim.LimitConcurrentRequests) }, 403, "REQUEST_LIMIT_EXCEEDED", true},
		{"the concurrent request limit in its other wording is transient", func(s *sfsim.Sim) {
			s.ExceedLimitNext(1, "ConcurrentRequests (Concurrent API Requests) Limit exceeded")
		}, 403, "REQUEST_LIMIT_EXCEEDED", true},
		{"the daily request limit (403) is permanent", func(s *sfsim.Sim) { s.ExceedLimitNext(1, sfsim.LimitTotalRequests) }, 403, "REQUEST_LIMIT_EXCEEDED", false},
		{"a 500 is transient", func(s *sfsim.Sim) { s.FailNext(1, http.StatusInternalServerError) }, 500, "UNKNOWN_EXCEPTION", true},
		{"an expired session (401) is permanent", func(s *sfsim.Sim) { s.ExpireSessions() }, 401, "INVALID_SESSION_ID", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, sfsim.Options{})
			c := f.connect(t, integrationUser)
			tt.fault(f.sim)
			_, err := c.Users(context.Background())
			e := apiError(t, err)
			if e.Status != tt.wantStatus || e.Code != tt.wantCode {
				t.Errorf("error = %d %s, want %d %s", e.Status, e.Code, tt.wantStatus, tt.wantCode)
			}
			if got := salesforce.IsTransient(err); got != tt.wantTransient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tt.wantTransient)
			}
			if got := e.Transient(); got != tt.wantTransient {
				t.Errorf("Transient() = %v, want %v", got, tt.wantTransient)
			}
			if tt.wantStatus == 403 && e.Limit() == "" {
				t.Errorf("Limit() is empty for %v, want the limit named", e)
			}
		})
	}
}

func TestFailNextFailsOnlyTheNextCalls(t *testing.T) {
	f := newFixture(t, sfsim.Options{})
	c := f.connect(t, integrationUser)
	f.sim.FailNext(2, http.StatusServiceUnavailable)
	var got []bool
	for range 3 {
		_, err := c.Users(context.Background())
		got = append(got, err == nil)
	}
	if want := []bool{false, false, true}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("succeeded = %v, want %v", got, want)
	}
}

func TestTransportErrorsAreClassified(t *testing.T) {
	f := newFixture(t, sfsim.Options{})
	c := f.connect(t, integrationUser)

	t.Run("a passed deadline is transient", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := c.Users(ctx)
		if err == nil || !salesforce.IsTransient(err) {
			t.Errorf("IsTransient(%v) = false, want true", err)
		}
	})
	t.Run("a cancelled context is not transient", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.Users(ctx)
		if err == nil || salesforce.IsTransient(err) {
			t.Errorf("IsTransient(%v) = true, want false", err)
		}
	})
	t.Run("an unreachable server is transient", func(t *testing.T) {
		f.srv.Close()
		_, err := c.Users(context.Background())
		if err == nil || !salesforce.IsTransient(err) {
			t.Errorf("IsTransient(%v) = false, want true", err)
		}
	})
}

func TestIsTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil is not transient", nil, false},
		{"not found is permanent", fmt.Errorf("find: %w", salesforce.ErrNotFound), false},
		{"a wrapped 502 is transient", fmt.Errorf("query: %w", &salesforce.APIError{Status: 502}), true},
		{"a wrapped 403 is permanent", fmt.Errorf("query: %w", &salesforce.APIError{Status: 403, Code: "REQUEST_LIMIT_EXCEEDED"}), false},
		{"a 404 is permanent", &salesforce.APIError{Status: 404}, false},
		{"a deadline is transient", fmt.Errorf("call: %w", context.DeadlineExceeded), true},
		{"an unrelated error is permanent", errors.New("bad plan"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := salesforce.IsTransient(tt.err); got != tt.want {
				t.Errorf("IsTransient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
