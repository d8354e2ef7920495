//go:build unix

package interop

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) this process has used on
// all its threads, so benchmarks can report a cost that other processes on a
// busy machine do not inflate.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
