package file

import (
	"sync/atomic"

	"github.com/cmaemu/cmaemu/linux"
)

// StatusFlags are the status flags of an open file description whose
// fcntl(F_SETFL) changes only O_NONBLOCK: the access mode and
// O_NONBLOCK, read and written without a lock. Embedding it gives a
// file Status and SetStatus.
type StatusFlags struct{ v atomic.Uint32 }

// InitStatus sets the flags a new description starts with.
func (s *StatusFlags) InitStatus(flags uint32) { s.v.Store(flags) }

// Status implements File.
func (s *StatusFlags) Status() (uint32, error) { return s.v.Load(), nil }

// SetStatus implements File: only O_NONBLOCK changes.
func (s *StatusFlags) SetStatus(flags uint32) error {
	for {
		old := s.v.Load()
		if s.v.CompareAndSwap(old, old&^linux.O_NONBLOCK|flags&linux.O_NONBLOCK) {
			return nil
		}
	}
}

// Nonblocking reports whether O_NONBLOCK is set.
func (s *StatusFlags) Nonblocking() bool { return s.v.Load()&linux.O_NONBLOCK != 0 }
