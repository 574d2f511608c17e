package stripemock

import (
	"os/exec"
	"syscall"
)

// setProcAttr asks the kernel to kill stripe-mock if the test binary dies
// without running Close, so no mock outlives a crashed test run.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
