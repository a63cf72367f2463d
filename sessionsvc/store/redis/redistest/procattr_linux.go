package redistest

import "syscall"

// procAttr makes the kernel kill redis-server if the test binary dies without
// running its cleanups (a panic, a timeout, SIGKILL), so no server outlives
// the tests that started it.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
