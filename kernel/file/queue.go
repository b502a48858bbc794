package file

import (
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmaemu/cmaemu/kernel/sleep"
)

// Sleeper is a Context that waits on a wake-up word of its own (a host
// futex) rather than on channels, so that a wake-up goes from the waker's
// host thread to the sleeper's without the Go scheduler. Queue.Arm and
// Waiter use it when the Context has it, channels otherwise.
type Sleeper interface {
	Context
	// Waker returns the caller's wake-up word. Whatever interrupts a
	// blocked call (a signal, a kill, an exit) wakes it too.
	Waker() *sleep.Waker
	// Sleep waits until the Waker is woken after token was taken, the
	// deadline passes (ETIMEDOUT; the zero Time: none) or the caller is
	// interrupted (ErrRestart). It may return nil without a wake-up: the
	// caller looks again at what it waits for.
	Sleep(token uint32, deadline time.Time) error
}

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
	mu sync.Mutex // protects changed, sleepers and watchers
	// changed is closed by the next Notify; nil until Changed asks for it.
	changed chan struct{}
	// sleepers are the armed Waits of Sleepers: the next Notify fires and
	// wakes them and empties the list.
	sleepers []*armed
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
// Call it after the change, best without the file's own lock: a waiter
// it wakes on another CPU takes that lock at once.
func (q *Queue) Notify(events uint32) {
	q.mu.Lock()
	if q.changed != nil {
		close(q.changed)
		q.changed = nil
	}
	sleepers := q.sleepers
	q.sleepers = nil
	for _, a := range sleepers {
		a.fired.Store(true)
	}
	ws := q.watchers
	q.mu.Unlock()
	// The wake-ups go without the Queue's lock: a sleeper woken on
	// another CPU may look at the Queue at once.
	for _, a := range sleepers {
		a.w.Wake()
	}
	for _, w := range ws {
		w.fn(events)
	}
}

// armed is a Sleeper's wait for a Queue's next Notify.
type armed struct {
	w     *sleep.Waker
	fired atomic.Bool // set by the Notify, before it wakes w
}

// Wait is one wait for the next Notify of a Queue, made by Arm.
type Wait struct {
	q  *Queue
	a  *armed          // a Sleeper's registration
	ch <-chan struct{} // or, for other Contexts, the channel of Changed
}

// Arm prepares the wait of ctx for the Queue's next Notify. Arm it
// before looking at the state the wait is for, or under the lock that
// the changes of that state and their Notify hold: a change after Arm
// ends the Block at once. An armed Wait must end with Block or Cancel.
func (q *Queue) Arm(ctx Context) Wait {
	s, ok := ctx.(Sleeper)
	if !ok {
		return Wait{ch: q.Changed()}
	}
	a := &armed{w: s.Waker()}
	q.mu.Lock()
	q.sleepers = append(q.sleepers, a)
	q.mu.Unlock()
	return Wait{q: q, a: a}
}

// Block waits for the Notify, the timeout (ETIMEDOUT; 0: none) or an
// interruption of ctx (ErrRestart), as Context.Block does for a channel.
func (w Wait) Block(ctx Context, timeout time.Duration) error {
	if w.a == nil {
		return ctx.Block(w.ch, timeout)
	}
	defer w.Cancel()
	s := ctx.(Sleeper)
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		token := w.a.w.Token()
		if w.a.fired.Load() {
			return nil
		}
		if err := s.Sleep(token, deadline); err != nil {
			return err
		}
	}
}

// Cancel ends a Wait that will not Block (a non-blocking call).
func (w Wait) Cancel() {
	if w.a == nil || w.a.fired.Load() {
		return
	}
	q := w.q
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, a := range q.sleepers {
		if a == w.a {
			last := len(q.sleepers) - 1
			copy(q.sleepers[i:], q.sleepers[i+1:])
			q.sleepers[last] = nil
			q.sleepers = q.sleepers[:last]
			return
		}
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
	// changed is a change since the last wait, for a Sleeper's waits;
	// sleeper is the Waker of the Sleeper that waits (nil until one does).
	changed atomic.Bool
	sleeper atomic.Pointer[sleep.Waker]
	stops   []func()
	chans   []<-chan struct{} // this round's channels of files not Watchable
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
	w.changed.Store(true)
	if s := w.sleeper.Load(); s != nil {
		s.Wake()
		return
	}
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
	s, sleeper := ctx.(Sleeper)
	if sleeper && w.sleeper.Load() == nil {
		w.sleeper.Store(s.Waker())
		w.drainChan() // a change the channel took is in changed too
	}
	if len(chans) == 0 {
		return w.block(ctx, timeout)
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
	return w.block(ctx, timeout)
}

// block waits for a change: on the Sleeper's wake-up word, or on the
// channel for other Contexts.
func (w *Waiter) block(ctx Context, timeout time.Duration) error {
	s, ok := ctx.(Sleeper)
	if !ok {
		return ctx.Block(w.woken, timeout)
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	waker := s.Waker()
	for {
		token := waker.Token()
		if w.changed.Swap(false) {
			return nil
		}
		if err := s.Sleep(token, deadline); err != nil {
			return err
		}
	}
}

func (w *Waiter) drainChan() {
	select {
	case <-w.woken:
	default:
	}
}

// Close stops watching.
func (w *Waiter) Close() {
	for _, stop := range w.stops {
		stop()
	}
	w.stops = nil
}
