//go:build !linux

package worker

import "time"

// sleepPrecise is time.Sleep off Linux, where no pacer is precise (only
// the Linux epoll engine makes one so).
func sleepPrecise(d time.Duration) { time.Sleep(d) }
