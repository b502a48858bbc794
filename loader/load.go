// Package loader loads ELF executables (x86-64 and i386: ET_EXEC, PIE and
// static-pie ET_DYN, and dynamically linked programs with their PT_INTERP
// interpreter) into a guest address space and builds the initial process
// stack, as Linux's binfmt_elf does without address space randomization:
// the layout is deterministic.
//
// Layout (64-bit; i386 in parentheses): an ET_EXEC file at its addresses;
// a PIE at DynBase64 (DynBase32); the interpreter, and an ET_DYN file run
// without one (ld.so run directly, a static-pie), top-down below the mmap
// base, MmapBase64 (MmapBase32) unless Options.MmapBase says otherwise;
// the stack below StackTop64 (StackTop32).
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
	// (as the kernel does while loading); the range must be mapped. A write
	// to a private file mapping gives the page a private copy.
	WriteForce(addr mm.Addr, data []byte) error
}

// FileMapper is implemented by a Memory that can map a file privately
// (mmap's MAP_PRIVATE: pages read from the file on first touch, copied on
// write). When the executable's io.ReaderAt (or the interpreter's) is an
// mm.File too, Load maps the segments' file pages from it, as Linux's
// elf_map does, so that /proc/PID/maps names the file; otherwise it copies
// the file's bytes into anonymous memory.
type FileMapper interface {
	// MapFile maps the page-aligned range ar from f at the page-aligned
	// offset off with prot, replacing what was there; the mapping takes
	// its own reference on f.
	MapFile(ar mm.AddrRange, prot mm.Prot, f mm.File, off uint64) error
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
	// signal frame. Zero omits the entry (libc then uses its built-in
	// MINSIGSTKSZ).
	MinSigStkSz uint64
	// OpenInterp opens the interpreter named by a dynamically linked
	// program's PT_INTERP, as execve does (open_exec: the name resolved
	// like execve's own, relative to the working directory, with execute
	// permission). Load calls it once, before mapping anything; the caller
	// closes the file after Load returns. Its errors come back in an
	// InterpError. Nil refuses dynamically linked programs
	// (ErrUnsupported).
	OpenInterp func(name string) (io.ReaderAt, error)
	// MmapBase is the top of the address space's mmap area, below which
	// the interpreter (or an ET_DYN file run without one) is placed as a
	// top-down mmap would place it. Zero: MmapBase64 or MmapBase32.
	MmapBase mm.Addr
}

// Image describes a loaded executable and its initial stack.
type Image struct {
	Class elf.Class // ELFCLASS64 or ELFCLASS32
	// Entry is the initial RIP/EIP: the interpreter's entry point for a
	// dynamically linked program, else the program's.
	Entry mm.Addr
	SP    mm.Addr // initial stack pointer (points at argc), 16-byte aligned
	// LoadBias is 0 for ET_EXEC and the load base for ET_DYN: a segment
	// of the program is at p_vaddr+LoadBias (modulo 2^64).
	LoadBias     mm.Addr
	Phdr         mm.Addr // AT_PHDR
	Phent, Phnum uint64
	ProgEntry    mm.Addr // AT_ENTRY: the program's entry point
	// Interp is the PT_INTERP path of a dynamically linked program ("" for
	// a static one); InterpBase its load bias (AT_BASE), InterpEnd the
	// page-aligned end of its highest segment.
	Interp                string
	InterpBase, InterpEnd mm.Addr
	BrkStart              mm.Addr // page-aligned start of the program break
	// StartCode and EndCode bound the program's executable segments'
	// file contents, StartData and EndData its last segment's (as
	// load_elf_binary computes start_code ... end_data, for
	// /proc/PID/stat and RLIMIT_DATA's check of the break).
	StartCode, EndCode, StartData, EndData mm.Addr
	StackRange                             mm.AddrRange
	// ExecStack: the stack is executable (PT_GNU_STACK with PF_X, or
	// ReadImpliesExec). ReadImpliesExec: the process has the
	// READ_IMPLIES_EXEC personality (an i386 program without
	// PT_GNU_STACK): every readable mapping is executable, the segments
	// and stack mapped here included.
	ExecStack, ReadImpliesExec bool

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

// fileRun is a run of pages mapped from the file: ar.Start at offset off.
type fileRun struct {
	ar  mm.AddrRange
	off uint64
}

// fileRuns returns the pages that are mapped from the file (sorted): the
// pages holding a segment's file data, less those shared with another
// segment (which get the union of the protections and are copied). Every
// byte written to such a page while loading is the file's byte there, or
// a zero of the bss.
func fileRuns(segs []segment) []fileRun {
	var out []fileRun
	for i, s := range segs {
		fp := s.filePages()
		if fp.Start == fp.End {
			continue
		}
		if i > 0 && segs[i-1].pages().End > fp.Start {
			fp.Start += mm.PageSize
		}
		if i+1 < len(segs) && segs[i+1].pages().Start < fp.End {
			fp.End -= mm.PageSize
		}
		if fp.Start >= fp.End {
			continue
		}
		off := s.off - s.vaddr.PageOffset() + uint64(fp.Start-s.vaddr.RoundDown())
		out = append(out, fileRun{fp, off})
	}
	return out
}

// fileAt returns the file run holding the page of a.
func fileAt(runs []fileRun, a mm.Addr) (fileRun, bool) {
	i, _ := slices.BinarySearchFunc(runs, a, func(r fileRun, a mm.Addr) int {
		switch {
		case r.ar.End <= a:
			return -1
		case r.ar.Start > a:
			return 1
		}
		return 0
	})
	if i < len(runs) && runs[i].ar.Contains(a) {
		return runs[i], true
	}
	return fileRun{}, false
}

// runAfter returns the index of the first file run that starts after a.
func runAfter(runs []fileRun, a mm.Addr) int {
	i, _ := slices.BinarySearchFunc(runs, a, func(r fileRun, a mm.Addr) int {
		if r.ar.Start <= a {
			return -1
		}
		return 1
	})
	return i
}

// Load checks the executable read from r (see Check), maps its PT_LOAD
// segments into mem and, for a dynamically linked program, those of its
// interpreter (opened with opts.OpenInterp), and maps and fills the
// initial stack. The files must not change while they are loaded. Errors
// of a bad executable match the sentinels of this package; errors of mem
// are returned wrapped, after which the address space is partially set up.
func Load(r io.ReaderAt, mem Memory, opts Options) (*Image, error) {
	p, err := analyze(r, nil, opts.MmapBase)
	if err != nil {
		return nil, err
	}
	var ip *plan
	var ir io.ReaderAt
	if p.interp != "" {
		if opts.OpenInterp == nil {
			return nil, &UnsupportedError{Interp: p.interp}
		}
		if ir, err = opts.OpenInterp(p.interp); err != nil {
			return nil, &InterpError{Name: p.interp, Err: err}
		}
		if ip, err = analyze(ir, p, opts.MmapBase); err != nil {
			return nil, &InterpError{Name: p.interp, Err: err}
		}
	}
	st, err := buildStack(p, ip, &opts)
	if err != nil {
		return nil, err
	}

	rie := p.readImpliesExec()
	if err := loadSegments(r, p, mem, rie); err != nil {
		return nil, err
	}
	img := &Image{
		Class:           p.class,
		Entry:           p.entry,
		SP:              st.sp,
		LoadBias:        p.bias,
		Phdr:            p.phdr,
		Phent:           p.phent,
		Phnum:           p.phnum,
		ProgEntry:       p.entry,
		BrkStart:        p.brk,
		ExecStack:       p.stack == stackExec || rie,
		ReadImpliesExec: rie,
		ArgStart:        st.argStart,
		ArgEnd:          st.argEnd,
		EnvStart:        st.envStart,
		EnvEnd:          st.envEnd,
		Auxv:            st.auxv,
	}
	img.StartCode, img.EndCode, img.StartData, img.EndData = p.codeData()
	if ip != nil {
		if err := loadSegments(ir, ip, mem, rie); err != nil {
			return nil, err
		}
		img.Entry, img.Interp, img.InterpBase, img.InterpEnd = ip.entry, p.interp, ip.bias, ip.brk
	}

	stack := mm.AddrRange{Start: p.stackTop - StackSize, End: p.stackTop}
	prot := mm.ProtRead | mm.ProtWrite
	if img.ExecStack {
		prot |= mm.ProtExec
	}
	if err := mem.MapAnon(stack, prot, "[stack]"); err != nil {
		return nil, fmt.Errorf("loader: map stack [%#x, %#x): %w", stack.Start, stack.End, err)
	}
	if err := mem.WriteForce(st.sp, st.data); err != nil {
		return nil, fmt.Errorf("loader: write stack at %#x: %w", st.sp, err)
	}
	img.StackRange = stack
	return img, nil
}

// loadSegments maps the segments of p, read from r, into mem and fills
// them. With rie (READ_IMPLIES_EXEC) readable pages are executable.
func loadSegments(r io.ReaderAt, p *plan, mem Memory, rie bool) error {
	var runs []fileRun
	fm, canMap := mem.(FileMapper)
	file, isFile := r.(mm.File)
	if canMap && isFile {
		runs = fileRuns(p.segs)
	}
	for _, rg := range regions(p.segs) {
		prot := rg.prot
		if rie && prot&mm.ProtRead != 0 {
			prot |= mm.ProtExec
		}
		// The region's pages, file runs and the anonymous gaps between.
		for a := rg.ar.Start; a < rg.ar.End; {
			fr, ok := fileAt(runs, a)
			var err error
			var next mm.Addr
			if ok {
				next = min(fr.ar.End, rg.ar.End)
				off := fr.off + uint64(a-fr.ar.Start)
				if err = fm.MapFile(mm.AddrRange{Start: a, End: next}, prot, file, off); err != nil {
					err = fmt.Errorf("loader: map %s at offset %#x to [%#x, %#x) %s: %w", file.Name(), off, a, next, prot, err)
				}
			} else {
				next = rg.ar.End
				if i := runAfter(runs, a); i < len(runs) {
					next = min(next, runs[i].ar.Start)
				}
				if err = mem.MapAnon(mm.AddrRange{Start: a, End: next}, prot, ""); err != nil {
					err = fmt.Errorf("loader: map segment [%#x, %#x) %s: %w", a, next, prot, err)
				}
			}
			if err != nil {
				return err
			}
			a = next
		}
	}
	l := &segLoader{r: r, mem: mem, size: uint64(p.size), runs: runs}
	// Linux maps whole pages of the file, so the parts of a segment's first
	// and last pages outside the segment show the neighbouring file bytes
	// (the tail of the last page is zeroed when the segment has a bss).
	for _, s := range p.segs {
		if s.filesz == 0 {
			continue
		}
		head := s.vaddr.PageOffset()
		if err := l.copy(s.vaddr-mm.Addr(head), s.off-head, head); err != nil {
			return err
		}
		if s.memsz == s.filesz {
			fend := s.vaddr + mm.Addr(s.filesz)
			pend, _ := fend.RoundUp()
			if err := l.copy(fend, s.off+s.filesz, uint64(pend-fend)); err != nil {
				return err
			}
		}
	}
	// Then each segment's own bytes, which win over the neighbours' page
	// padding where segments share a page. A page mapped from the file
	// is zeroed from the end of the file data to the page's end (padzero).
	for _, s := range p.segs {
		if err := l.copy(s.vaddr, s.off, s.filesz); err != nil {
			return err
		}
		if s.memsz > s.filesz {
			zs := s.vaddr + mm.Addr(s.filesz)
			pe, _ := zs.RoundUp()
			ze := min(s.end(), pe)
			if _, ok := fileAt(runs, zs); ok && zs != pe {
				ze = pe
			}
			if ze > zs {
				if err := l.write(zs, make([]byte, ze-zs)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// segLoader copies file data into memory.
type segLoader struct {
	r    io.ReaderAt
	mem  Memory
	size uint64    // file size
	runs []fileRun // pages mapped from the file, which show its bytes
	buf  []byte
}

func (l *segLoader) write(addr mm.Addr, data []byte) error {
	if err := l.mem.WriteForce(addr, data); err != nil {
		return fmt.Errorf("loader: write %#x bytes at %#x: %w", len(data), addr, err)
	}
	return nil
}

// copy copies up to n bytes of the file at off to addr, stopping at the end
// of the file. Bytes that a mapping of the file already shows at addr are
// left alone.
func (l *segLoader) copy(addr mm.Addr, off, n uint64) error {
	if off >= l.size {
		return nil
	}
	n = min(n, l.size-off)
	for n > 0 {
		k := min(n, chunkSize)
		if fr, ok := fileAt(l.runs, addr); ok {
			k = min(k, uint64(fr.ar.End-addr))
			if fr.off+uint64(addr-fr.ar.Start) == off {
				addr += mm.Addr(k)
				off += k
				n -= k
				continue
			}
		} else if i := runAfter(l.runs, addr); i < len(l.runs) {
			k = min(k, uint64(l.runs[i].ar.Start-addr))
		}
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
