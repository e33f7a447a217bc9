package schedules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cron is an EventBridge cron expression, cron(minutes hours day-of-month
// month day-of-week year), evaluated in UTC. It is written here rather than
// taken from a cron library because EventBridge's dialect differs from
// Unix cron (six fields, '?', days of the week numbered 1-7 from Sunday)
// and only the local stack needs to evaluate one: in AWS, Scheduler does.
// The local evaluator supports numbers, names, '*', '?', ranges, lists and
// steps; 'L', 'W' and '#' are EventBridge's alone.
type Cron struct {
	fields   [6]map[int]bool // nil: any value
	anyDOM   bool
	anyDOW   bool
	original string
}

var fieldRanges = [6]struct {
	name   string
	lo, hi int
	names  []string
}{
	{"minutes", 0, 59, nil},
	{"hours", 0, 23, nil},
	{"day-of-month", 1, 31, nil},
	{"month", 1, 12, []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{"day-of-week", 1, 7, []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
	{"year", 1970, 2199, nil},
}

// ParseCron parses "cron(…)".
func ParseCron(expr string) (Cron, error) {
	inner, ok := strings.CutPrefix(expr, "cron(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return Cron{}, fmt.Errorf("%q is not cron(…)", expr)
	}
	parts := strings.Fields(strings.TrimSuffix(inner, ")"))
	if len(parts) != 6 {
		return Cron{}, fmt.Errorf("%q has %d fields, want 6", expr, len(parts))
	}
	c := Cron{original: expr}
	for i, p := range parts {
		set, err := parseField(i, strings.ToUpper(p))
		if err != nil {
			return Cron{}, fmt.Errorf("%s: %w", fieldRanges[i].name, err)
		}
		c.fields[i] = set
	}
	c.anyDOM, c.anyDOW = parts[2] == "?", parts[4] == "?"
	if c.anyDOM == c.anyDOW {
		return Cron{}, fmt.Errorf("%q: exactly one of day-of-month and day-of-week must be '?'", expr)
	}
	return c, nil
}

func parseField(i int, s string) (map[int]bool, error) {
	r := fieldRanges[i]
	if s == "*" || s == "?" {
		if s == "?" && i != 2 && i != 4 {
			return nil, fmt.Errorf("'?' is only for the day fields")
		}
		return nil, nil
	}
	set := map[int]bool{}
	for _, item := range strings.Split(s, ",") {
		span, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("bad step %q", stepText)
			}
			step = n
		}
		lo, hi := r.lo, r.hi
		if span != "*" {
			a, b, isRange := strings.Cut(span, "-")
			var err error
			if lo, err = value(r.names, r.lo, a); err != nil {
				return nil, err
			}
			hi = lo
			if isRange {
				if hi, err = value(r.names, r.lo, b); err != nil {
					return nil, err
				}
			} else if hasStep {
				hi = r.hi
			}
		}
		if lo < r.lo || hi > r.hi || lo > hi {
			return nil, fmt.Errorf("%q is outside %d-%d", item, r.lo, r.hi)
		}
		for v := lo; v <= hi; v += step {
			set[v] = true
		}
	}
	return set, nil
}

func value(names []string, lo int, s string) (int, error) {
	for i, n := range names {
		if s == n {
			return lo + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		if strings.ContainsAny(s, "LW#") {
			return 0, fmt.Errorf("%q uses L, W or #, which only EventBridge evaluates", s)
		}
		return 0, fmt.Errorf("bad value %q", s)
	}
	return v, nil
}

// Matches reports whether the expression fires in t's minute (UTC).
func (c Cron) Matches(t time.Time) bool {
	t = t.UTC()
	values := [6]int{t.Minute(), t.Hour(), t.Day(), int(t.Month()), int(t.Weekday()) + 1, t.Year()}
	for i, set := range c.fields {
		if (i == 2 && c.anyDOM) || (i == 4 && c.anyDOW) {
			continue
		}
		if set != nil && !set[values[i]] {
			return false
		}
	}
	return true
}

func (c Cron) String() string { return c.original }
