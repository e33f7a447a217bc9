package lambdatest

import "syscall"

// sysProcAttr makes the kernel kill the emulator if the test process dies
// without cleaning up; the bootstrap then exits when its runtime API goes away.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
