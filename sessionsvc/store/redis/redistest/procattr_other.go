//go:build !linux

package redistest

import "syscall"

// procAttr has no parent-death signal outside Linux: a test binary that dies
// without its cleanups leaves its redis-server running.
func procAttr() *syscall.SysProcAttr { return nil }
