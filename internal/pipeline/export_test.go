package pipeline

// SetFixedBackoff makes s poll the copy as before issue 11 (doubling waits
// only), for the exposure benchmark's comparison.
func SetFixedBackoff(s *Steps) { s.fixedBackoff = true }
