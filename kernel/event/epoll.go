package event

import (
	"sync"
	"time"

	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// epoll_ctl operations.
const (
	CtlAdd = 1
	CtlDel = 2
	CtlMod = 3
)

// epoll event bits beyond the poll events.
const (
	EPOLLRDHUP     = file.PollRdHup
	EPOLLEXCLUSIVE = 1 << 28
	EPOLLWAKEUP    = 1 << 29
	EPOLLONESHOT   = 1 << 30
	EPOLLET        = 1 << 31
	EPOLLCloexec   = linux.O_CLOEXEC

	// privateBits are the flags of an interest, not events.
	privateBits = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE
	// exclusiveOK are the bits EPOLLEXCLUSIVE may come with.
	exclusiveOK = file.PollIn | file.PollOut | file.PollErr | file.PollHup | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE
)

// maxNests is EP_MAX_NESTS: how deep epoll files may contain each other.
const maxNests = 4

// PollInterval is how often a wait looks again at files whose readiness
// has no change channel (host files).
const PollInterval = 10 * time.Millisecond

// Nest is the lock that keeps the nesting of one kernel's epoll files
// consistent while epoll_ctl checks it for loops and depth.
type Nest struct {
	mu sync.Mutex // held for every change of an EPoll's parents
}

// Event is one struct epoll_event.
type Event struct {
	Events uint32
	Data   uint64
}

// itemKey names an interest as Linux does: the open file and the
// descriptor number it was added by.
type itemKey struct {
	f  file.File
	fd int32
}

// item is one interest of an epoll file.
type item struct {
	ep    *EPoll
	key   itemKey
	child *EPoll // the file, if it is an epoll file

	// Protected by ep.mu:
	mask    uint32 // the events asked for, EPOLLERR|EPOLLHUP and the flags; no events once a one-shot fired
	data    uint64
	queued  bool   // on ep.ready
	removed bool   // gone from the interest list
	polled  bool   // in ep.polled: the file's readiness has no change channel
	last    uint32 // for polled edge-triggered items: the events seen last
	// ch is, for a file that is not Watchable, the change channel of its
	// readiness as last looked at: closed, it is a change not yet
	// reported. A harvest (synchronously) or follow (for blocked waits)
	// takes the change by replacing it.
	ch <-chan struct{}

	// Set up by insert, undone by release (no lock: see EPoll.mu).
	stopWatch     func()        // the file's Watch, if it is Watchable
	cancelRelease func()        // its OnRelease, if it is Releasable
	done          chan struct{} // ends follow; set for files that are not Watchable
	held          bool          // the item holds a reference to the file
}

// EPoll is an epoll file: an interest list of (file, descriptor) pairs
// and the list of those that may be ready.
//
// Lock order: Nest.mu, then EPoll.mu. EPoll.mu is never held while
// calling into a file (Readiness, DecRef), so a file may call its
// watchers (which take EPoll.mu) with its own locks held.
type EPoll struct {
	anon
	nest *Nest

	mu      sync.Mutex // protects the fields below and the items' fields so marked
	items   map[itemKey]*item
	ready   []*item            // items that may be ready, oldest first
	polled  map[*item]struct{} // items looked at on every wait
	chans   map[*item]struct{} // items of files that are not Watchable
	closed  bool               // the last reference went
	parents map[*EPoll]int     // epoll files with this one in their interest lists; also under nest.mu
}

// NewEPoll returns an empty epoll file. flags are epoll_create1's;
// others are EINVAL.
func NewEPoll(nest *Nest, flags uint32) (*EPoll, error) {
	if flags&^EPOLLCloexec != 0 {
		return nil, linux.EINVAL
	}
	ep := &EPoll{nest: nest, items: map[itemKey]*item{}, polled: map[*item]struct{}{}, chans: map[*item]struct{}{}, parents: map[*EPoll]int{}}
	ep.init("eventpoll", false)
	return ep, nil
}

// DecRef implements file.File: the last reference empties the interest
// list.
func (ep *EPoll) DecRef() {
	if !ep.Drop() {
		return
	}
	ep.mu.Lock()
	ep.closed = true
	var gone []*item
	for _, it := range ep.items {
		ep.removeLocked(it)
		gone = append(gone, it)
	}
	ep.mu.Unlock()
	for _, it := range gone {
		it.release()
	}
}

// Read implements file.File: EINVAL.
func (ep *EPoll) Read(file.Context, [][]byte, int64) (int, error) { return 0, linux.EINVAL }

// Write implements file.File: EINVAL.
func (ep *EPoll) Write(file.Context, [][]byte, int64) (int, error) { return 0, linux.EINVAL }

// Pollable reports whether epoll can watch f: regular files,
// directories and the memory devices (/dev/null, ...) cannot (EPERM).
func Pollable(f file.File) bool {
	st, err := f.Stat()
	if err != nil {
		return true
	}
	a := file.DecodeStat(st)
	const typeMask, regular, dir, char, memMajor = 0o170000, 0o100000, 0o040000, 0o020000, 1
	switch a.Mode & typeMask {
	case regular, dir:
		return false
	case char:
		return (a.Rdev>>8)&0xfff != memMajor
	}
	return true
}

// Ctl implements epoll_ctl on epoll file epf for f, open as descriptor
// fd, in the order of Linux's checks after the descriptors are found.
func Ctl(epf file.File, op int32, f file.File, fd int32, ev Event) error {
	if !Pollable(f) {
		return linux.EPERM
	}
	ep, ok := epf.(*EPoll)
	if !ok || epf == f {
		return linux.EINVAL
	}
	_, target := f.(*EPoll)
	if op != CtlDel && ev.Events&EPOLLEXCLUSIVE != 0 {
		if op == CtlMod || op == CtlAdd && (target || ev.Events&^exclusiveOK != 0) {
			return linux.EINVAL
		}
	}
	switch op {
	case CtlAdd:
		return ep.add(f, fd, ev)
	case CtlMod:
		return ep.modify(f, fd, ev)
	case CtlDel:
		return ep.remove(f, fd)
	}
	return linux.EINVAL
}

// add inserts an interest (EEXIST if there is one; ELOOP if f is an
// epoll file that would close a loop or nest too deep).
func (ep *EPoll) add(f file.File, fd int32, ev Event) error {
	key := itemKey{f, fd}
	child, _ := f.(*EPoll)
	if child != nil {
		ep.nest.mu.Lock()
		defer ep.nest.mu.Unlock()
		if below := child.depthBelow(ep); below > maxNests || below+1+ep.depthAbove() > maxNests {
			return linux.ELOOP
		}
		if ep.hasItem(key) {
			return linux.EEXIST
		}
		child.parents[ep]++
	}
	it := &item{ep: ep, key: key, child: child}
	it.mask = ev.Events | file.PollErr | file.PollHup
	it.data = ev.Data
	ep.mu.Lock()
	if _, dup := ep.items[key]; dup || ep.closed {
		ep.mu.Unlock()
		if child != nil {
			child.parents[ep]--
		}
		return linux.EEXIST
	}
	ep.items[key] = it
	ep.mu.Unlock()
	it.watch()
	it.wake(0) // the first look decides whether it is ready now
	return nil
}

func (ep *EPoll) hasItem(key itemKey) bool {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	_, ok := ep.items[key]
	return ok
}

// depthBelow is how deep epoll files nest inside ep (0: none), or more
// than maxNests if target is among them. Caller holds nest.mu.
func (ep *EPoll) depthBelow(target *EPoll) int {
	ep.mu.Lock()
	var children []*EPoll
	for _, it := range ep.items {
		if it.child != nil {
			children = append(children, it.child)
		}
	}
	ep.mu.Unlock()
	depth := 0
	for _, c := range children {
		if c == target {
			return maxNests + 1
		}
		depth = max(depth, c.depthBelow(target)+1)
		if depth > maxNests {
			break
		}
	}
	return depth
}

// depthAbove is how deep ep is nested in other epoll files. Caller holds
// nest.mu.
func (ep *EPoll) depthAbove() int {
	depth := 0
	for p, n := range ep.parents {
		if n > 0 {
			depth = max(depth, p.depthAbove()+1)
		}
		if depth > maxNests {
			break
		}
	}
	return depth
}

// watch connects the item to its file's changes and release.
func (it *item) watch() {
	f := it.key.f
	if r, ok := f.(file.Releasable); ok {
		it.cancelRelease = r.OnRelease(it.fileReleased)
	} else {
		f.IncRef()
		it.held = true
	}
	if w, ok := f.(file.Watchable); ok {
		it.stopWatch = w.Watch(it.wake)
		return
	}
	it.done = make(chan struct{})
	_, ch := f.Readiness()
	ep := it.ep
	ep.mu.Lock()
	it.ch = ch
	if !it.removed {
		ep.chans[it] = struct{}{}
	}
	ep.mu.Unlock()
	go it.follow()
}

// follow turns the changes of a file that is not Watchable into wakes
// of the item, for waits that block, until the item goes. A change a
// harvest took first (it replaced it.ch) is not woken again.
func (it *item) follow() {
	ep := it.ep
	for {
		ep.mu.Lock()
		ch := it.ch
		ep.mu.Unlock()
		if ch == nil { // polled by the waits; look for a channel again later
			select {
			case <-it.done:
				return
			case <-time.After(PollInterval):
			}
			if _, nch := it.key.f.Readiness(); nch != nil {
				ep.mu.Lock()
				if it.ch == nil {
					it.ch = nch
				}
				ep.mu.Unlock()
				it.wake(0)
			}
			continue
		}
		select {
		case <-it.done:
			return
		case <-ch:
		}
		_, nch := it.key.f.Readiness()
		ep.mu.Lock()
		fresh := it.ch == ch
		if fresh {
			it.ch = nch
		}
		ep.mu.Unlock()
		if fresh {
			it.wake(0)
		}
	}
}

// fileReleased drops the item when its file's last reference goes.
func (it *item) fileReleased() {
	ep := it.ep
	ep.mu.Lock()
	if it.removed {
		ep.mu.Unlock()
		return
	}
	ep.removeLocked(it)
	ep.mu.Unlock()
	it.release()
}

// wake is the file's change: the item goes on the ready list if the
// change may concern the events it waits for.
func (it *item) wake(events uint32) {
	ep := it.ep
	ep.mu.Lock()
	if it.removed || it.mask&^privateBits == 0 || events != 0 && events&it.mask == 0 {
		ep.mu.Unlock()
		return
	}
	if !it.queued {
		it.queued = true
		ep.ready = append(ep.ready, it)
	}
	ep.mu.Unlock()
	ep.Notify(file.PollIn)
}

// removeLocked takes it out of the interest list; release finishes.
func (ep *EPoll) removeLocked(it *item) {
	it.removed = true
	delete(ep.items, it.key)
	delete(ep.polled, it)
	delete(ep.chans, it)
}

// release undoes watch, with no lock held.
func (it *item) release() {
	if it.stopWatch != nil {
		it.stopWatch()
	}
	if it.cancelRelease != nil {
		it.cancelRelease()
	}
	if it.done != nil {
		close(it.done)
	}
	if it.child != nil {
		it.ep.nest.mu.Lock()
		if it.child.parents[it.ep]--; it.child.parents[it.ep] <= 0 {
			delete(it.child.parents, it.ep)
		}
		it.ep.nest.mu.Unlock()
	}
	if it.held {
		it.key.f.DecRef()
	}
}

// modify changes an interest's events and data (ENOENT if there is none;
// EINVAL for one added with EPOLLEXCLUSIVE).
func (ep *EPoll) modify(f file.File, fd int32, ev Event) error {
	ep.mu.Lock()
	it, ok := ep.items[itemKey{f, fd}]
	if !ok {
		ep.mu.Unlock()
		return linux.ENOENT
	}
	if it.mask&EPOLLEXCLUSIVE != 0 {
		ep.mu.Unlock()
		return linux.EINVAL
	}
	it.mask = ev.Events | file.PollErr | file.PollHup
	it.data = ev.Data
	it.last = 0
	ep.mu.Unlock()
	it.wake(0)
	return nil
}

// remove deletes an interest (ENOENT if there is none).
func (ep *EPoll) remove(f file.File, fd int32) error {
	ep.mu.Lock()
	it, ok := ep.items[itemKey{f, fd}]
	if !ok {
		ep.mu.Unlock()
		return linux.ENOENT
	}
	ep.removeLocked(it)
	ep.mu.Unlock()
	it.release()
	return nil
}

// candidates takes the ready list, the polled items and those whose
// change channel was closed since they were last looked at.
func (ep *EPoll) candidates(take bool) []*item {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	list := make([]*item, 0, len(ep.ready)+len(ep.polled))
	list = append(list, ep.ready...)
	for it := range ep.polled {
		if !it.queued {
			list = append(list, it)
		}
	}
	for it := range ep.chans {
		if !it.queued && !it.polled && closed(it.ch) {
			list = append(list, it)
		}
	}
	if take {
		for _, it := range ep.ready {
			it.queued = false
		}
		ep.ready = ep.ready[:0:0]
	}
	return list
}

// check looks at an item's file and returns the events to report, if
// any. With report set it also does what reporting does: a one-shot
// item is disabled, and it says whether a level-triggered item stays
// on the ready list.
func (ep *EPoll) check(it *item, report bool) (ev uint32, again bool) {
	ready, ch := it.key.f.Readiness()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if it.removed {
		return 0, false
	}
	polled := ch == nil
	if polled != it.polled {
		it.polled = polled
		if polled {
			ep.polled[it] = struct{}{}
		} else {
			delete(ep.polled, it)
		}
	}
	if report && it.done != nil {
		it.ch = ch // this change is taken
		if it.queued && !closed(ch) {
			// by follow, for a change this report covers: one change
			// is one event, as ep_poll_callback runs once for it
			ep.unqueueLocked(it)
		}
	}
	ev = ready & it.mask &^ privateBits
	if it.polled && it.mask&EPOLLET != 0 {
		// No change channel: an edge is a change of what is seen.
		seen := ev
		if ev == it.last {
			ev = 0
		}
		if report {
			it.last = seen
		}
	}
	if ev == 0 || !report {
		return ev, false
	}
	if it.mask&EPOLLONESHOT != 0 {
		it.mask &= privateBits
		return ev, false
	}
	return ev, it.mask&EPOLLET == 0 && !it.polled
}

// unqueueLocked takes it off the ready list. Preconditions: ep.mu held.
func (ep *EPoll) unqueueLocked(it *item) {
	for i, x := range ep.ready {
		if x == it {
			ep.ready = append(ep.ready[:i:i], ep.ready[i+1:]...)
			break
		}
	}
	it.queued = false
}

// harvest returns up to max ready events, as ep_send_events: items
// not reached stay on the ready list first, then those that came
// meanwhile, then the level-triggered items reported.
func (ep *EPoll) harvest(max int) []Event {
	list := ep.candidates(true)
	var out []Event
	var again, rest []*item
	for i, it := range list {
		if len(out) == max {
			rest = list[i:]
			break
		}
		ev, stays := ep.check(it, true)
		if ev != 0 {
			ep.mu.Lock()
			data := it.data
			ep.mu.Unlock()
			out = append(out, Event{Events: ev, Data: data})
		}
		if stays {
			again = append(again, it)
		}
	}
	if len(rest) == 0 && len(again) == 0 {
		return out
	}
	ep.mu.Lock()
	requeued := make([]*item, 0, len(rest)+len(ep.ready)+len(again))
	for _, it := range rest {
		if !it.removed && !it.queued && !it.polled {
			it.queued = true
			requeued = append(requeued, it)
		}
	}
	requeued = append(requeued, ep.ready...)
	for _, it := range again {
		if !it.removed && !it.queued {
			it.queued = true
			requeued = append(requeued, it)
		}
	}
	ep.ready = requeued
	ep.mu.Unlock()
	return out
}

// Readiness implements file.File: an epoll file is readable when one of
// its interests has events to report. It must be polled (nil channel)
// while one of its files must.
func (ep *EPoll) Readiness() (uint32, <-chan struct{}) {
	ch := ep.Changed()
	var ev uint32
	for _, it := range ep.candidates(false) {
		if r, _ := ep.check(it, false); r != 0 {
			ev = file.PollIn | file.PollRdNorm
			break
		}
	}
	ep.mu.Lock()
	if len(ep.polled) > 0 {
		ch = nil
	}
	ep.mu.Unlock()
	return ev, ch
}

func (ep *EPoll) mustPoll() bool {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return len(ep.polled) > 0
}

// Wait implements epoll_wait: it returns up to max events, waiting for
// one at most timeout (< 0: for ever). An interrupted wait is
// file.ErrRestart.
func (ep *EPoll) Wait(ctx file.Context, max int, timeout time.Duration) ([]Event, error) {
	w := file.NewWaiter()
	defer w.Close()
	w.Watch(ep)
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		if out := ep.harvest(max); len(out) > 0 || timeout == 0 {
			return out, nil
		}
		wait := time.Duration(0)
		if timeout > 0 {
			if wait = time.Until(deadline); wait <= 0 {
				return nil, nil
			}
		}
		if ep.mustPoll() && (wait == 0 || wait > PollInterval) {
			wait = PollInterval
		}
		if err := w.Wait(ctx, wait); err != nil && err != linux.ETIMEDOUT {
			return nil, err
		}
	}
}

// closed reports whether ch is closed (a nil channel is not).
func closed(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
