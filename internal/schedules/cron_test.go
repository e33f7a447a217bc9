package schedules_test

import (
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/schedules"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04 Mon", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCronMatchesAsEventBridgeDoes(t *testing.T) {
	tests := []struct {
		expr  string
		when  string
		match bool
	}{
		{"cron(0 2 ? * SUN *)", "2026-11-29 02:00 Sun", true},
		{"cron(0 2 ? * SUN *)", "2026-11-29 02:01 Sun", false},
		{"cron(0 2 ? * SUN *)", "2026-11-30 02:00 Mon", false},
		{"cron(0 2 ? * 1 *)", "2026-11-29 02:00 Sun", true}, // 1 is Sunday in EventBridge
		{"cron(0 2 ? * MON-FRI *)", "2026-11-27 02:00 Fri", true},
		{"cron(0 2 ? * MON-FRI *)", "2026-11-28 02:00 Sat", false},
		{"cron(*/15 * * * ? *)", "2026-11-27 10:45 Fri", true},
		{"cron(*/15 * * * ? *)", "2026-11-27 10:46 Fri", false},
		{"cron(5,35 8-10 1 JAN,JUL ? 2027)", "2027-07-01 09:35 Thu", true},
		{"cron(5,35 8-10 1 JAN,JUL ? 2027)", "2026-07-01 09:35 Wed", false},
		{"cron(0 0 15 * ? *)", "2026-12-15 00:00 Tue", true},
	}
	for _, tc := range tests {
		c, err := schedules.ParseCron(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := c.Matches(at(tc.when)); got != tc.match {
			t.Errorf("%s at %s: got %v, want %v", tc.expr, tc.when, got, tc.match)
		}
	}
}

func TestCronRefusesWhatItCannotEvaluate(t *testing.T) {
	for _, expr := range []string{
		"0 2 * * *", "cron(0 2 * * *)", "cron(0 2 * * * *)", "cron(0 2 ? * ? *)",
		"cron(61 2 ? * SUN *)", "cron(0 2 L * ? *)", "cron(0 2 ? * 6#3 *)", "cron(0 2 ? * FUNDAY *)",
	} {
		if _, err := schedules.ParseCron(expr); err == nil {
			t.Errorf("%s: got no error", expr)
		}
	}
}

func TestTheLocalSchedulerFiresDueSchedules(t *testing.T) {
	var m schedules.Memory
	ctx := t.Context()
	_ = m.Put(ctx, "acme", "uat1", "cron(0 2 ? * SUN *)")
	_ = m.Put(ctx, "acme", "dev2", "cron(0 2 L * ? *)") // EventBridge only: kept, never fired locally
	_ = m.Put(ctx, "globex", "uat1", "cron(30 * * * ? *)")
	due := m.Due(at("2026-11-29 02:00 Sun"))
	if len(due) != 1 || due[0].Tenant != "acme" || due[0].Sandbox != "uat1" || due[0].Name != schedules.Name("acme", "uat1") {
		t.Fatalf("got %+v, want acme/uat1 only", due)
	}
	_ = m.Delete(ctx, "acme", "uat1")
	if due := m.Due(at("2026-11-29 02:00 Sun")); len(due) != 0 {
		t.Fatalf("got %+v after the delete, want nothing", due)
	}
	// An expression only EventBridge can evaluate is still recorded.
	if expr, ok := m.Get("acme", "dev2"); !ok || expr != "cron(0 2 L * ? *)" {
		t.Fatalf("got %q, %v; want the recorded expression", expr, ok)
	}
}
