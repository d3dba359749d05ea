package bench

import "syscall"

// sysProcAttr makes the kernel kill a node this package started with
// exec.Command when the benchmark process dies without running its cleanups.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
