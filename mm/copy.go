package mm

import (
	"bytes"
	"sync/atomic"
	"unsafe"

	"github.com/cmaemu/cmaemu/linux"
)

// The copy functions move bytes between the kernel and guest memory with
// the guest's permissions, as copy_from_user and copy_to_user do. Each
// returns the number of bytes copied; fewer than asked means the copy
// stopped at the first inaccessible byte and the error is EFAULT (a
// *Fault, which matches linux.EFAULT with errors.Is).

// CopyIn reads len(dst) bytes at va.
func (m *MM) CopyIn(va Addr, dst []byte) (int, error) {
	return m.copyPages(va, len(dst), Read, func(mem []byte, done int) { copy(dst[done:], mem) })
}

// CopyOut writes src at va.
func (m *MM) CopyOut(va Addr, src []byte) (int, error) {
	return m.copyPages(va, len(src), Write, func(mem []byte, done int) { copy(mem, src[done:]) })
}

// ZeroOut writes n zero bytes at va.
func (m *MM) ZeroOut(va Addr, n int) (int, error) {
	return m.copyPages(va, n, Write, func(mem []byte, _ int) { clear(mem) })
}

// copyPages calls fn on the host memory of each page piece of [va, va+n)
// in order, after faulting it in for acc. Each frame is pinned while fn
// uses it: the address-space lock is not held, so a concurrent munmap may
// drop the page meanwhile, but not free the frame under the copy.
func (m *MM) copyPages(va Addr, n int, acc Access, fn func(mem []byte, done int)) (int, error) {
	done := 0
	var code []Frame
	defer func() { m.dropCode(code) }()
	for done < n {
		at := va + Addr(done)
		if at < va { // wrapped around the address space
			return done, &Fault{Addr: at, Access: acc}
		}
		pa, exec, err := m.pin(at, acc)
		if err != nil {
			return done, err
		}
		kernelWrote(&code, pa.Frame(), exec && acc == Write)
		chunk := min(n-done, int(PageSize-at.PageOffset()))
		fn(m.ram.mem[pa:pa+PhysAddr(chunk)], done)
		m.ram.Unpin(pa.Frame())
		done += chunk
	}
	return done, nil
}

// CopyInString reads a NUL-terminated string of at most max bytes
// (terminator excluded) at va: ENAMETOOLONG if it is longer, EFAULT if it
// runs into an inaccessible byte.
func (m *MM) CopyInString(va Addr, max int) (string, error) {
	var out []byte
	for len(out) <= max {
		at := va + Addr(len(out))
		if at < va {
			return "", &Fault{Addr: at, Access: Read}
		}
		pa, _, err := m.pin(at, Read)
		if err != nil {
			return "", err
		}
		page := m.ram.mem[pa : pa+PhysAddr(PageSize-at.PageOffset())]
		i := bytes.IndexByte(page, 0)
		if i >= 0 {
			out = append(out, page[:i]...)
		} else {
			out = append(out, page...)
		}
		m.ram.Unpin(pa.Frame())
		if i >= 0 {
			if len(out) > max {
				break
			}
			return string(out), nil
		}
	}
	return "", linux.ENAMETOOLONG
}

// PeekUint32 reads the 4-byte aligned word at va with one atomic load,
// without faulting anything in: ok is false when the page is not present
// and readable now. It is futex_get_value_locked: a caller that holds its
// own lock reads the word under it, and on !ok drops the lock, faults the
// page in with CopyIn and tries again.
func (m *MM) PeekUint32(va Addr) (v uint32, ok bool) {
	if va&3 != 0 || va >= TaskSize {
		return 0, false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.pt == nil {
		return 0, false
	}
	slot := m.pt.lookup(va)
	if slot == nil {
		return 0, false
	}
	e := load(slot)
	f, ok := m.ram.EntryFrame(e)
	if !ok || !pteAllows(e, Read) {
		return 0, false
	}
	markUsed(slot, Read)
	pa := f.Addr() + PhysAddr(va.PageOffset())
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&m.ram.mem[pa]))), true
}

// WriteForce writes data at va regardless of the mapping's protection, as
// the kernel does while loading a program. Every byte must be mapped.
func (m *MM) WriteForce(va Addr, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var code []Frame
	for done := 0; done < len(data); {
		at := va + Addr(done)
		e, err := m.faultLocked(at, Write, true)
		if err != nil {
			return err
		}
		kernelWrote(&code, e.Frame(), e&PTENoExec == 0)
		pa := e.Frame().Addr() + PhysAddr(at.PageOffset())
		done += copy(m.ram.mem[pa:pa+PhysAddr(PageSize-at.PageOffset())], data[done:])
	}
	m.dropCode(code)
	return nil
}

// Buffers appends to bufs the host memory behind [va, va+n) as the kernel
// would access it for acc (faulting pages in, breaking COW for writes),
// merging physically contiguous pages. It stops at the first inaccessible
// byte and returns the fault with what it gathered. The frames stay pinned
// until the caller calls unpin (also on error), which, for a write, also
// drops translated code of the executable pages written.
func (m *MM) Buffers(bufs [][]byte, va Addr, n uint64, acc Access) (out [][]byte, unpin func(), err error) {
	p := &Pins{}
	out, err = m.PinBuffers(bufs, p, va, n, acc)
	return out, p.Release, err
}

// Pins are the frames PinBuffers pinned for one caller, until Release.
// A Pins lives on its caller's stack: the first frames need no
// allocation. Several PinBuffers calls may share one Pins.
type Pins struct {
	m     *MM
	n     int      // frames pinned
	first [4]Frame // the first of them
	more  []Frame  // the others
	code  []Frame  // executable pages the caller is to write
}

func (p *Pins) add(f Frame) {
	if p.n < len(p.first) {
		p.first[p.n] = f
	} else {
		p.more = append(p.more, f)
	}
	p.n++
}

// Release unpins the frames and, for a write, drops the translated code
// of the executable pages written. The Pins is then empty.
func (p *Pins) Release() {
	if p.m == nil {
		return
	}
	for _, f := range p.first[:min(p.n, len(p.first))] {
		p.m.ram.Unpin(f)
	}
	for _, f := range p.more {
		p.m.ram.Unpin(f)
	}
	p.m.dropCode(p.code)
	*p = Pins{}
}

// PinBuffers is Buffers that records the frames in p (released with
// p.Release, also on error) instead of returning a function.
func (m *MM) PinBuffers(bufs [][]byte, p *Pins, va Addr, n uint64, acc Access) ([][]byte, error) {
	if p.m != nil && p.m != m {
		panic("mm: Pins shared by two address spaces")
	}
	p.m = m
	first := len(bufs)
	var lastStart, lastEnd PhysAddr
	for done := uint64(0); done < n; {
		at := va + Addr(done)
		if at < va {
			return bufs, &Fault{Addr: at, Access: acc}
		}
		// Pinned under the address-space lock, in the same step as the
		// translation: nothing can free the frame in between.
		pa, exec, err := m.pin(at, acc)
		if err != nil {
			return bufs, err
		}
		kernelWrote(&p.code, pa.Frame(), exec && acc == Write)
		p.add(pa.Frame())
		chunk := min(n-done, PageSize-at.PageOffset())
		end := pa + PhysAddr(chunk)
		if len(bufs) > first && pa == lastEnd {
			bufs[len(bufs)-1] = m.ram.mem[lastStart:end:end]
		} else {
			bufs = append(bufs, m.ram.mem[pa:end:end])
			lastStart = pa
		}
		lastEnd = end
		done += chunk
	}
	return bufs, nil
}
