package sprout

import (
	"runtime"
	"sync"
)

// The one thread that starts processes with a parent-death signal. Linux sends the signal
// when the thread that called clone ends; the Go runtime ends a thread when a goroutine that
// locked it (runtime.LockOSThread) returns without unlocking, so a spawn from an arbitrary
// goroutine could get its process killed whenever some unrelated goroutine ends. This
// thread belongs to a goroutine that never returns: it ends with the program.
var longLived struct {
	once     sync.Once
	requests chan func()
}

// onLongLivedThread runs f on that thread and returns when f has.
func onLongLivedThread(f func()) {
	longLived.once.Do(func() {
		longLived.requests = make(chan func())
		go func() {
			runtime.LockOSThread()
			for f := range longLived.requests {
				f()
			}
		}()
	})
	done := make(chan struct{})
	longLived.requests <- func() {
		defer close(done)
		f()
	}
	<-done
}
