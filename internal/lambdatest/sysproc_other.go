//go:build !linux

package lambdatest

import "syscall"

// sysProcAttr: elsewhere Build already refuses to run (the emulator is Linux only).
func sysProcAttr() *syscall.SysProcAttr { return nil }
