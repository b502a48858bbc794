package file

import (
	"sync"
	"sync/atomic"
)

// Releasable is implemented by files that tell when their last reference
// goes. epoll holds such files without a reference and drops them from
// its interest lists then, as Linux does; a file that is not Releasable
// stays in an interest list, referenced, until EPOLL_CTL_DEL or the epoll
// file's own release.
type Releasable interface {
	// OnRelease calls fn once, when the file's last reference is
	// dropped, unless cancel was called before. fn runs with no lock of
	// the file held; it may run while cancel is being called.
	OnRelease(fn func()) (cancel func())
}

// Refs is a file's reference count with the hooks of OnRelease. A file
// embeds it and implements DecRef as
//
//	func (f *T) DecRef() { if f.Drop() { /* free f */ } }
//
// The zero Refs holds one reference.
type Refs struct {
	extra atomic.Int64 // references beyond the first
	mu    sync.Mutex   // protects hooks
	hooks map[*releaseHook]struct{}
}

type releaseHook struct{ fn func() }

// IncRef takes a reference.
func (r *Refs) IncRef() { r.extra.Add(1) }

// Drop drops a reference and reports whether it was the last; the
// release hooks have run then.
func (r *Refs) Drop() bool {
	if r.extra.Add(-1) != -1 {
		return false // others remain (or, wrongly, a reference was dropped twice)
	}
	r.mu.Lock()
	hooks := r.hooks
	r.hooks = nil
	r.mu.Unlock()
	for h := range hooks {
		h.fn()
	}
	return true
}

// OnRelease implements Releasable.
func (r *Refs) OnRelease(fn func()) (cancel func()) {
	h := &releaseHook{fn: fn}
	r.mu.Lock()
	if r.hooks == nil {
		r.hooks = map[*releaseHook]struct{}{}
	}
	r.hooks[h] = struct{}{}
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.hooks, h)
		r.mu.Unlock()
	}
}
