//go:build linux

package worker

import (
	"time"

	"golang.org/x/sys/unix"
)

// sleepPrecise sleeps d in nanosleep(2), through the runtime-aware system
// call path: the P is handed on if the sleep is long. A signal may end it
// early; the caller recomputes what is due.
func sleepPrecise(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	_ = unix.Nanosleep(&ts, nil)
}
