//go:build !linux

package proctest

import (
	"syscall"
	"time"
)

// sysProcAttr adds nothing outside Linux: a test process that dies without
// its cleanups leaves its nodes running.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// waitStopped cannot observe the process state outside Linux; SIGSTOP takes
// effect promptly, so it only gives the kernel a moment.
func waitStopped(int, time.Duration) bool {
	time.Sleep(10 * time.Millisecond)
	return true
}
