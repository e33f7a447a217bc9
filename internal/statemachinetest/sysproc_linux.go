package statemachinetest

import "syscall"

// sysProcAttr makes the kernel kill the Node server if the test process dies
// without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
