package testenv

import "time"

// Eventually polls cond until it holds or timeout passes, and reports
// whether it held. Tests wait for the condition they need, never for a fixed
// time: a fixed sleep is either too short on a busy machine (a flaky test) or
// longer than needed everywhere else (a slow one).
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
	}
}
