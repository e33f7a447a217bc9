//go:build !linux

package browsertest

import "os/exec"

// ownGroup: elsewhere only the Node driver itself is killed on timeout.
func ownGroup(*exec.Cmd) {}
