package jsforcetest

import (
	"os/exec"
	"syscall"
)

// ownGroup puts node in its own process group, killed whole when the suite
// times out, and tells the kernel to kill node if the test process dies first.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
