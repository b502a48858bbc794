// Package loader loads static ELF executables (x86-64 and i386, ET_EXEC and
// static-pie ET_DYN) into a guest address space and builds the initial
// process stack, as Linux's binfmt_elf does without address space
// randomization: the layout is deterministic.
package loader

import (
	"debug/elf"
	"fmt"
	"io"
	"slices"

	"github.com/cmaemu/cmaemu/mm"
)

// Memory is what the loader needs of an address space (mm.MM implements it).
type Memory interface {
	// MapAnon creates an anonymous private mapping of the page-aligned range
	// ar with prot; name is "" or a label such as "[stack]" for
	// /proc/pid/maps.
	MapAnon(ar mm.AddrRange, prot mm.Prot, name string) error
	// WriteForce writes data at addr regardless of the mapping's protection
	// (as the kernel does while loading); the range must be mapped.
	WriteForce(addr mm.Addr, data []byte) error
}

// Options describes the process being started.
type Options struct {
	Args, Env []string // argv and envp; a string ends at its first NUL, if any
	// ExecFn is the AT_EXECFN string: the path as given to exec. If empty,
	// Args[0] is used.
	ExecFn               string
	UID, EUID, GID, EGID uint32
	Random               [16]byte // AT_RANDOM bytes
	HWCap, HWCap2        uint64
	// MinSigStkSz is the AT_MINSIGSTKSZ value: the size of the largest
	// signal frame the emulator builds. Zero omits the entry (libc then uses
	// its built-in MINSIGSTKSZ).
	MinSigStkSz uint64
}

// Image describes a loaded executable and its initial stack.
type Image struct {
	Class elf.Class // ELFCLASS64 or ELFCLASS32
	Entry mm.Addr   // initial RIP/EIP
	SP    mm.Addr   // initial stack pointer (points at argc), 16-byte aligned
	// LoadBias is 0 for ET_EXEC and the load base for static-pie ET_DYN:
	// a segment is at p_vaddr+LoadBias (modulo 2^64).
	LoadBias     mm.Addr
	Phdr         mm.Addr // AT_PHDR
	Phent, Phnum uint64
	BrkStart     mm.Addr // page-aligned end of the highest segment
	StackRange   mm.AddrRange

	// Where the argument and environment strings are (for
	// /proc/pid/cmdline and /proc/pid/environ), and the auxiliary vector as
	// written on the stack, without its AT_NULL (for /proc/pid/auxv).
	ArgStart, ArgEnd, EnvStart, EnvEnd mm.Addr
	Auxv                               []AuxEntry
}

// chunkSize bounds the buffer used to copy segment data.
const chunkSize = 256 << 10

// region is a run of pages mapped with one protection.
type region struct {
	ar   mm.AddrRange
	prot mm.Prot
}

// regions returns the page runs to map for the segments (sorted by
// address): a page shared by segments gets the union of their protections.
func regions(segs []segment) []region {
	var pts []mm.Addr
	for _, s := range segs {
		pg := s.pages()
		pts = append(pts, pg.Start, pg.End)
	}
	slices.Sort(pts)
	var out []region
	for i := 0; i+1 < len(pts); i++ {
		iv := mm.AddrRange{Start: pts[i], End: pts[i+1]}
		if iv.Start == iv.End {
			continue
		}
		var prot mm.Prot
		covered := false
		for _, s := range segs {
			if s.pages().Overlaps(iv) {
				prot |= s.prot
				covered = true
			}
		}
		if !covered {
			continue
		}
		if n := len(out); n > 0 && out[n-1].ar.End == iv.Start && out[n-1].prot == prot {
			out[n-1].ar.End = iv.End
			continue
		}
		out = append(out, region{iv, prot})
	}
	return out
}

// Load checks the executable read from r (see Check), maps its PT_LOAD
// segments into mem, and maps and fills the initial stack. The file must not
// change while it is loaded. Errors of a bad executable match the sentinels
// of this package; errors of mem are returned wrapped, after which the
// address space is partially set up.
func Load(r io.ReaderAt, mem Memory, opts Options) (*Image, error) {
	p, err := analyze(r)
	if err != nil {
		return nil, err
	}
	st, err := buildStack(p, &opts)
	if err != nil {
		return nil, err
	}

	for _, rg := range regions(p.segs) {
		if err := mem.MapAnon(rg.ar, rg.prot, ""); err != nil {
			return nil, fmt.Errorf("loader: map segment [%#x, %#x) %s: %w", rg.ar.Start, rg.ar.End, rg.prot, err)
		}
	}
	l := &segLoader{r: r, mem: mem, size: uint64(p.size)}
	// Linux maps whole pages of the file, so the parts of a segment's first
	// and last pages outside the segment show the neighbouring file bytes
	// (the tail of the last page is zeroed when the segment has a bss).
	for _, s := range p.segs {
		if s.filesz == 0 {
			continue
		}
		head := s.vaddr.PageOffset()
		if err := l.copy(s.vaddr-mm.Addr(head), s.off-head, head); err != nil {
			return nil, err
		}
		if s.memsz == s.filesz {
			fend := s.vaddr + mm.Addr(s.filesz)
			pend, _ := fend.RoundUp()
			if err := l.copy(fend, s.off+s.filesz, uint64(pend-fend)); err != nil {
				return nil, err
			}
		}
	}
	// Then each segment's own bytes, which win over the neighbours' page
	// padding where segments share a page.
	for _, s := range p.segs {
		if err := l.copy(s.vaddr, s.off, s.filesz); err != nil {
			return nil, err
		}
		if s.memsz > s.filesz {
			zs := s.vaddr + mm.Addr(s.filesz)
			pe, _ := zs.RoundUp()
			ze := min(s.end(), pe)
			if ze > zs {
				if err := l.write(zs, make([]byte, ze-zs)); err != nil {
					return nil, err
				}
			}
		}
	}

	stack := mm.AddrRange{Start: p.stackTop - StackSize, End: p.stackTop}
	if err := mem.MapAnon(stack, mm.ProtRead|mm.ProtWrite, "[stack]"); err != nil {
		return nil, fmt.Errorf("loader: map stack [%#x, %#x): %w", stack.Start, stack.End, err)
	}
	if err := mem.WriteForce(st.sp, st.data); err != nil {
		return nil, fmt.Errorf("loader: write stack at %#x: %w", st.sp, err)
	}
	return &Image{
		Class:      p.class,
		Entry:      p.entry,
		SP:         st.sp,
		LoadBias:   p.bias,
		Phdr:       p.phdr,
		Phent:      p.phent,
		Phnum:      p.phnum,
		BrkStart:   p.brk,
		StackRange: stack,
		ArgStart:   st.argStart,
		ArgEnd:     st.argEnd,
		EnvStart:   st.envStart,
		EnvEnd:     st.envEnd,
		Auxv:       st.auxv,
	}, nil
}

// segLoader copies file data into memory.
type segLoader struct {
	r    io.ReaderAt
	mem  Memory
	size uint64 // file size
	buf  []byte
}

func (l *segLoader) write(addr mm.Addr, data []byte) error {
	if err := l.mem.WriteForce(addr, data); err != nil {
		return fmt.Errorf("loader: write %#x bytes at %#x: %w", len(data), addr, err)
	}
	return nil
}

// copy copies up to n bytes of the file at off to addr, stopping at the end
// of the file.
func (l *segLoader) copy(addr mm.Addr, off, n uint64) error {
	if off >= l.size {
		return nil
	}
	n = min(n, l.size-off)
	for n > 0 {
		k := min(n, chunkSize)
		if uint64(len(l.buf)) < k {
			l.buf = make([]byte, min(chunkSize, max(k, mm.PageSize)))
		}
		b := l.buf[:k]
		got, err := readAt(l.r, b, int64(off))
		if err != nil {
			return err
		}
		if got < len(b) {
			return truncated(int64(off), "file shrank while loading")
		}
		if err := l.write(addr, b); err != nil {
			return err
		}
		addr += mm.Addr(k)
		off += k
		n -= k
	}
	return nil
}
