package file

import (
	"reflect"
	"sync"
	"time"
)

// Watchable is implemented by files that announce every change of their
// readiness: poll and epoll then wait on many files through one channel,
// without a goroutine for each file.
type Watchable interface {
	// Watch calls fn after each change of the file's readiness with the
	// events the change may have made ready (0: any). fn runs on the
	// goroutine that made the change, possibly with the file's own locks
	// held: it must not block and must not call into any file. It may
	// still run once after stop has returned; stop may be called more
	// than once.
	Watch(fn func(events uint32)) (stop func())
}

// Queue is what a file keeps for those who wait on it: the channel its
// Readiness hands out and the watchers of Watch. A file embeds one and
// calls Notify after every change. The zero Queue is ready to use; it
// must not be copied after first use.
type Queue struct {
	mu sync.Mutex // protects changed and watchers
	// changed is closed by the next Notify; nil until Changed asks for it.
	changed chan struct{}
	// watchers is replaced, never changed in place, so that Notify can
	// call them without holding mu.
	watchers []*watcher
}

type watcher struct{ fn func(uint32) }

// Changed returns a channel closed by the next Notify.
func (q *Queue) Changed() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.changed == nil {
		q.changed = make(chan struct{})
	}
	return q.changed
}

// Notify tells the waiters of a change that may have made events ready
// (0: any change). The watchers run with no lock of the Queue held.
func (q *Queue) Notify(events uint32) {
	q.mu.Lock()
	if q.changed != nil {
		close(q.changed)
		q.changed = nil
	}
	ws := q.watchers
	q.mu.Unlock()
	for _, w := range ws {
		w.fn(events)
	}
}

// Watch implements Watchable.
func (q *Queue) Watch(fn func(events uint32)) (stop func()) {
	w := &watcher{fn: fn}
	q.mu.Lock()
	q.watchers = append(q.watchers[:len(q.watchers):len(q.watchers)], w)
	q.mu.Unlock()
	return func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		for i, x := range q.watchers {
			if x == w {
				ws := make([]*watcher, 0, len(q.watchers)-1)
				q.watchers = append(append(ws, q.watchers[:i]...), q.watchers[i+1:]...)
				return
			}
		}
	}
}

// Waiter gathers the changes of many files for one blocking wait (poll,
// select, epoll_wait): Watchable files signal one channel; the Readiness
// channels of the others are waited on together by a single goroutine
// per wait. Only its owner's goroutine uses it.
type Waiter struct {
	woken chan struct{} // buffered: a change since the last wait
	stops []func()
	chans []<-chan struct{} // this round's channels of files not Watchable
}

// NewWaiter returns a Waiter watching nothing; Close releases it.
func NewWaiter() *Waiter { return &Waiter{woken: make(chan struct{}, 1)} }

// Watch watches f for the Waiter's whole life if f is Watchable, and
// reports whether it is.
func (w *Waiter) Watch(f File) bool {
	wf, ok := f.(Watchable)
	if ok {
		w.stops = append(w.stops, wf.Watch(func(uint32) { w.wake() }))
	}
	return ok
}

// Add adds the Readiness channel of a file that is not Watchable to the
// next Wait only.
func (w *Waiter) Add(ch <-chan struct{}) {
	if ch != nil {
		w.chans = append(w.chans, ch)
	}
}

func (w *Waiter) wake() {
	select {
	case w.woken <- struct{}{}:
	default:
	}
}

// Wait blocks until a watched file or an added channel changes, the
// timeout passes (ETIMEDOUT from ctx; 0: none) or the task is
// interrupted (ErrRestart). A change that came after Watch and before
// Wait ends the Wait at once.
func (w *Waiter) Wait(ctx Context, timeout time.Duration) error {
	chans := w.chans
	w.chans = nil
	if len(chans) == 0 {
		return ctx.Block(w.woken, timeout)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		cases := make([]reflect.SelectCase, 0, len(chans)+1)
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(stop)})
		for _, ch := range chans {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
		}
		if i, _, _ := reflect.Select(cases); i > 0 {
			w.wake()
		}
	}()
	return ctx.Block(w.woken, timeout)
}

// Close stops watching.
func (w *Waiter) Close() {
	for _, stop := range w.stops {
		stop()
	}
	w.stops = nil
}
