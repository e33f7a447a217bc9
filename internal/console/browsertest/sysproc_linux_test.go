package browsertest

import (
	"os/exec"
	"syscall"
)

// ownGroup puts the Node driver and the Chromium it starts in their own
// process group, killed whole when the test ends or times out, and tells the
// kernel to kill Node if the test process dies first.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
