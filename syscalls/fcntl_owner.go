package syscalls

import (
	"encoding/binary"
	"sync"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// fcntl commands for the owner and signal of asynchronous I/O.
const (
	fSetOwn   = 8
	fGetOwn   = 9
	fSetSig   = 10
	fGetSig   = 11
	fSetOwnEx = 15
	fGetOwnEx = 16

	fOwnerTID  = 0
	fOwnerPID  = 1
	fOwnerPGRP = 2
)

// fileOwner is the F_SETOWN state of an open file description: who would
// get SIGIO and which signal. The kernel records it for F_GETOWN and
// F_GETOWN_EX; it sends no SIGIO (asynchronous I/O notification is not
// offered).
type fileOwner struct {
	mu  sync.Mutex // protects the fields
	typ int32      // fOwnerTID, fOwnerPID or fOwnerPGRP
	id  int32
	sig int32
}

// ownable is an open file description with owner state.
type ownable interface {
	owner() *fileOwner
}

func (f *openFile) owner() *fileOwner { return &f.own }
func (e *pipeEnd) owner() *fileOwner  { return &e.own }

// fcntlOwner handles F_SETOWN, F_GETOWN, F_SETOWN_EX, F_GETOWN_EX,
// F_SETSIG and F_GETSIG.
func (t *Task) fcntlOwner(f File, cmd int32, arg uint64) (uintptr, error) {
	o, ok := f.(ownable)
	if !ok {
		return 0, linux.EINVAL
	}
	own := o.owner()
	switch cmd {
	case fGetOwn:
		own.mu.Lock()
		defer own.mu.Unlock()
		if own.typ == fOwnerPGRP {
			return uintptr(-int64(own.id)), nil
		}
		return uintptr(own.id), nil
	case fSetOwn:
		id := int32(arg)
		typ := int32(fOwnerPID)
		if id < 0 {
			typ, id = fOwnerPGRP, -id
		}
		return 0, t.setOwner(own, typ, id)
	case fGetSig:
		own.mu.Lock()
		defer own.mu.Unlock()
		return uintptr(own.sig), nil
	case fSetSig:
		if arg > uint64(linux.NSig)-1 {
			return 0, linux.EINVAL
		}
		own.mu.Lock()
		own.sig = int32(arg)
		own.mu.Unlock()
		return 0, nil
	case fGetOwnEx:
		own.mu.Lock()
		var b [8]byte
		binary.LittleEndian.PutUint32(b[0:], uint32(own.typ))
		binary.LittleEndian.PutUint32(b[4:], uint32(own.id))
		own.mu.Unlock()
		_, err := t.MM().CopyOut(mm.Addr(arg), b[:])
		return 0, err
	case fSetOwnEx:
		var b [8]byte
		if _, err := t.MM().CopyIn(mm.Addr(arg), b[:]); err != nil {
			return 0, err
		}
		typ, id := int32(binary.LittleEndian.Uint32(b[0:])), int32(binary.LittleEndian.Uint32(b[4:]))
		if typ < fOwnerTID || typ > fOwnerPGRP || id < 0 {
			return 0, linux.EINVAL
		}
		return 0, t.setOwner(own, typ, id)
	}
	return 0, linux.EINVAL
}

// setOwner records an owner: ESRCH when no such task, process or group
// exists (0 clears the owner).
func (t *Task) setOwner(own *fileOwner, typ, id int32) error {
	if id != 0 {
		k := t.k
		k.mu.Lock()
		found := false
		switch typ {
		case fOwnerTID:
			_, found = k.tasks[id]
		case fOwnerPID:
			_, found = k.procs[id]
		case fOwnerPGRP:
			for _, p := range k.procs {
				if p.pgid == id {
					found = true
					break
				}
			}
		}
		k.mu.Unlock()
		if !found {
			return linux.ESRCH
		}
	}
	own.mu.Lock()
	own.typ, own.id = typ, id
	own.mu.Unlock()
	return nil
}
