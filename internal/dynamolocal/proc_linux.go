package dynamolocal

import "syscall"

// childAttr makes the kernel kill DynamoDB Local if the process that
// started it dies without stopping it (a test binary killed by its timeout).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
