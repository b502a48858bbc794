package event

import (
	"fmt"
	"testing"

	"github.com/cmaemu/cmaemu/kernel/file"
)

// BenchmarkEPollWait is one epoll_wait over n eventfds of which one is
// ready (level-triggered): the ready list makes it independent of n.
func BenchmarkEPollWait(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var nest Nest
			ep, _ := NewEPoll(&nest, 0)
			for i := range n {
				e, _ := NewEventFD(0, EFDNonblock)
				if i == n/2 {
					e.Write(newCtx(), u64(1), -1)
				}
				Ctl(ep, CtlAdd, e, int32(i), Event{Events: file.PollIn, Data: uint64(i)})
			}
			c := newCtx()
			b.ResetTimer()
			for range b.N {
				if got, _ := ep.Wait(c, 8, 0); len(got) != 1 {
					b.Fatal(got)
				}
			}
		})
	}
}

// BenchmarkEventFDWake is a write that wakes a waiter blocked in
// epoll_wait over n other idle eventfds plus the one written.
func BenchmarkEventFDWake(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var nest Nest
			ep, _ := NewEPoll(&nest, 0)
			for i := range n {
				e, _ := NewEventFD(0, EFDNonblock)
				Ctl(ep, CtlAdd, e, int32(i), Event{Events: file.PollIn})
			}
			w, _ := NewEventFD(0, EFDNonblock)
			Ctl(ep, CtlAdd, w, -1, Event{Events: file.PollIn | EPOLLET})
			c := newCtx()
			done := make(chan struct{})
			b.ResetTimer()
			go func() {
				for range b.N {
					ep.Wait(c, 8, -1)
					var buf [8]byte
					w.Read(c, [][]byte{buf[:]}, -1)
					done <- struct{}{}
				}
			}()
			for range b.N {
				w.Write(c, u64(1), -1)
				<-done
			}
		})
	}
}
