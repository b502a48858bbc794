package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"

	"github.com/cmaemu/cmaemu/mm"
)

// Layout constants of a process without address space randomization.
const (
	// StackTop64 is the top of the stack of a 64-bit process (STACK_TOP =
	// TASK_SIZE with 4-level paging).
	StackTop64 mm.Addr = 0x7ffffffff000
	// StackTop32 is the top of the stack of an i386 process on an x86-64
	// kernel (IA32_PAGE_OFFSET); it is also the end of its address space.
	StackTop32 mm.Addr = 0xffffe000
	// StackSize is the size of the stack mapping (the default RLIMIT_STACK).
	StackSize = 8 << 20
	// DynBase64 is where a 64-bit ET_DYN program with an interpreter (a
	// PIE) is loaded: ELF_ET_DYN_BASE, 2/3 of the address space, aligned
	// down to its largest PT_LOAD alignment.
	DynBase64 mm.Addr = 0x555555554000
	// DynBase32 is where an i386 PIE is loaded on an x86-64 kernel
	// (COMPAT_ELF_ET_DYN_BASE = TASK_UNMAPPED_BASE + 16 MiB).
	DynBase32 mm.Addr = 0x56555000
	// MmapBase64 is the top of the mmap area of a 64-bit process
	// (mmap_base: the stack top less a gap of at least 128 MiB). The
	// interpreter and an ET_DYN file run without one (ld.so run directly,
	// a static-pie) are placed below it, top-down, as mmap places them.
	MmapBase64 mm.Addr = StackTop64 - mmapGap
	// MmapBase32 is the same for an i386 process on an x86-64 kernel
	// (mmap_compat_base).
	MmapBase32 mm.Addr = StackTop32 - mmapGap
	// LoaderBrk64 is the program break of a 64-bit ET_DYN file run
	// without an interpreter: ELF_ET_DYN_BASE (0x555555554aaa) rounded up
	// to a page, away from the mmap area it is loaded in.
	LoaderBrk64 mm.Addr = 0x555555555000
	// LoaderBrk32 is the same for i386 (COMPAT_ELF_ET_DYN_BASE).
	LoaderBrk32 mm.Addr = DynBase32
	// MinAddr is the lowest address a segment may occupy (vm.mmap_min_addr).
	MinAddr mm.Addr = 0x10000
)

const (
	// mmapGap is the distance from the stack top to the mmap base: the
	// stack limit plus the guard gap, clamped to at least 128 MiB.
	mmapGap = 128 << 20
	// maxPhdrSize bounds the program header table, as Linux does
	// (load_elf_phdrs: at most ELF_MIN_ALIGN bytes).
	maxPhdrSize = mm.PageSize
	// maxInterpLen bounds the PT_INTERP string with its NUL (PATH_MAX).
	maxInterpLen = 4096
)

// gnuStack is what PT_GNU_STACK says of the stack.
type gnuStack int

const (
	stackDefault gnuStack = iota // no PT_GNU_STACK
	stackNoExec                  // PT_GNU_STACK without PF_X
	stackExec                    // PT_GNU_STACK with PF_X
)

// segment is a PT_LOAD segment to map, with the load bias applied.
type segment struct {
	vaddr         mm.Addr // p_vaddr + bias
	off           uint64  // p_offset
	filesz, memsz uint64
	prot          mm.Prot
}

// end returns the end of the segment's memory image.
func (s segment) end() mm.Addr { return s.vaddr + mm.Addr(s.memsz) }

// pages returns the page-aligned range the segment occupies.
func (s segment) pages() mm.AddrRange {
	e, _ := s.end().RoundUp() // cannot overflow: end <= stack top
	return mm.AddrRange{Start: s.vaddr.RoundDown(), End: e}
}

// filePages returns the page-aligned range the segment maps from the
// file (empty without file data).
func (s segment) filePages() mm.AddrRange {
	if s.filesz == 0 {
		return mm.AddrRange{Start: s.vaddr.RoundDown(), End: s.vaddr.RoundDown()}
	}
	e, _ := (s.vaddr + mm.Addr(s.filesz)).RoundUp()
	return mm.AddrRange{Start: s.vaddr.RoundDown(), End: e}
}

// plan is a validated executable, ready to be loaded.
type plan struct {
	file  *elf.File
	class elf.Class
	typ   elf.Type
	size  int64 // file size
	bias  mm.Addr
	entry mm.Addr
	phdr  mm.Addr
	phent uint64
	phnum uint64
	segs  []segment // sorted by address, memsz > 0
	brk   mm.Addr
	// stackTop is the top of the stack of the process: the end of the
	// address space (TASK_SIZE) for the segments.
	stackTop mm.Addr
	// interp is the PT_INTERP path of a program (not read for an
	// interpreter, whose PT_INTERP Linux ignores); stack is what its
	// PT_GNU_STACK says.
	interp string
	stack  gnuStack
}

// codeData returns start_code, end_code, start_data and end_data as
// load_elf_binary computes them over the PT_LOAD segments: the code
// bounds are those of the executable segments' file contents (0 and 0
// when there is none), start_data is the highest segment's address and
// end_data the highest end of file contents.
func (p *plan) codeData() (startCode, endCode, startData, endData mm.Addr) {
	startCode = ^mm.Addr(0)
	for _, s := range p.segs {
		end := s.vaddr + mm.Addr(s.filesz)
		if s.prot&mm.ProtExec != 0 {
			startCode, endCode = min(startCode, s.vaddr), max(endCode, end)
		}
		startData, endData = max(startData, s.vaddr), max(endData, end)
	}
	if endCode == 0 {
		startCode = 0
	}
	return startCode, endCode, startData, endData
}

// wordSize returns the size of a pointer of the guest.
func (p *plan) wordSize() int {
	if p.class == elf.ELFCLASS32 {
		return 4
	}
	return 8
}

// readImpliesExec reports whether the process gets the READ_IMPLIES_EXEC
// personality (elf_read_implies_exec on x86): an i386 program without
// PT_GNU_STACK, whose readable mappings are all executable.
func (p *plan) readImpliesExec() bool {
	return p.class == elf.ELFCLASS32 && p.stack == stackDefault
}

// Check validates the executable read from r: an ELF64 EM_X86_64 or ELF32
// EM_386 little-endian ET_EXEC or ET_DYN file whose program headers and
// PT_LOAD segments are within the file and within the guest address
// space, below the stack and without overlap, and whose PT_INTERP, if
// any, is a NUL-terminated path of at most PATH_MAX bytes. It returns the
// file parsed by debug/elf. The interpreter itself is not looked at.
// Errors match ErrNotELF, ErrWrongArch or ErrBadELF (see the error
// types); I/O errors of r are returned wrapped.
func Check(r io.ReaderAt) (*elf.File, error) {
	p, err := analyze(r, nil, 0)
	if err != nil {
		return nil, err
	}
	return p.file, nil
}

// Interp returns the PT_INTERP path of the executable read from r, or ""
// for a statically linked one. It checks the file as Check does.
func Interp(r io.ReaderAt) (string, error) {
	p, err := analyze(r, nil, 0)
	if err != nil {
		return "", err
	}
	return p.interp, nil
}

// readAt reads len(buf) bytes at off; it returns the number of bytes read,
// which is short only at end of file (err nil) or on an I/O error.
func readAt(r io.ReaderAt, buf []byte, off int64) (int, error) {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) || errors.Is(err, io.EOF) {
		return n, nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return n, fmt.Errorf("loader: read at offset %#x: %w", off, err)
}

// fileSize returns the size of the file read by r: its Size or Stat method,
// otherwise found by probing with one-byte reads.
func fileSize(r io.ReaderAt) (int64, error) {
	switch v := r.(type) {
	case interface{ Size() int64 }:
		return v.Size(), nil
	case interface{ Size() (int64, error) }:
		return v.Size()
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size(), nil
		}
	}
	var b [1]byte
	has := func(off int64) (bool, error) {
		n, err := readAt(r, b[:], off)
		return n == 1, err
	}
	// Find lo < hi with a byte at lo-1 (or lo == 0) and none at hi-1.
	lo, hi := int64(0), int64(1)
	for {
		ok, err := has(hi - 1)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo = hi
		if hi > 1<<61 {
			return 0, errors.New("loader: file too large")
		}
		hi *= 2
	}
	for hi-lo > 1 { // invariant: size >= lo and size < hi
		mid := lo + (hi-lo)/2
		ok, err := has(mid - 1)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// hideSections wraps the reader of an ELF file so that its header announces
// no section headers: the kernel ignores them, so a file with broken section
// headers is still an executable.
type hideSections struct {
	r   io.ReaderAt
	hdr []byte // the patched ELF header
}

func (h hideSections) ReadAt(p []byte, off int64) (int, error) {
	n, err := h.r.ReadAt(p, off)
	if off >= 0 && off < int64(len(h.hdr)) {
		copy(p[:n], h.hdr[off:])
	}
	return n, err
}

// parseELF parses the file with debug/elf, falling back to ignoring the
// section headers, and never panics.
func parseELF(r io.ReaderAt, hdr []byte, class elf.Class) (f *elf.File, err error) {
	defer func() {
		if x := recover(); x != nil {
			f, err = nil, badELF(0, "debug/elf: %v", x)
		}
	}()
	f, err = elf.NewFile(r)
	if err == nil {
		return f, nil
	}
	h := bytes.Clone(hdr)
	h[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	if class == elf.ELFCLASS64 {
		clear(h[40:48]) // e_shoff
		clear(h[60:64]) // e_shnum, e_shstrndx
	} else {
		clear(h[32:36])
		clear(h[48:52])
	}
	f, err2 := elf.NewFile(hideSections{r, h})
	if err2 == nil {
		return f, nil
	}
	var fe *elf.FormatError
	switch {
	case errors.As(err2, &fe):
		return nil, &FormatError{Msg: "debug/elf", Err: err2}
	case errors.Is(err2, io.EOF) || errors.Is(err2, io.ErrUnexpectedEOF):
		return nil, &FormatError{Msg: "debug/elf", Truncated: true, Err: err2}
	}
	return nil, fmt.Errorf("loader: %w", err2)
}

// analyze validates an executable and computes where everything goes:
// the program (prog nil) or the interpreter of prog. mmapBase is the top
// of the mmap area (0: Linux's for the class).
func analyze(r io.ReaderAt, prog *plan, mmapBase mm.Addr) (*plan, error) {
	hdr := make([]byte, 64)
	n, err := readAt(r, hdr, 0)
	if err != nil {
		return nil, err
	}
	hdr = hdr[:n]
	if n < 4 || string(hdr[:4]) != elf.ELFMAG {
		return nil, ErrNotELF
	}
	if n < elf.EI_NIDENT {
		return nil, truncated(0, "ELF identification is %d bytes", n)
	}
	class, data := elf.Class(hdr[elf.EI_CLASS]), elf.Data(hdr[elf.EI_DATA])
	hsize := 64
	switch class {
	case elf.ELFCLASS64:
	case elf.ELFCLASS32:
		hsize = 52
	default:
		return nil, &ArchError{Class: class, Data: data}
	}
	if n < 20 {
		return nil, truncated(0, "ELF header is %d bytes, want %d", n, hsize)
	}
	le := binary.LittleEndian
	machine := elf.Machine(le.Uint16(hdr[18:]))
	if data != elf.ELFDATA2LSB {
		machine = elf.Machine(binary.BigEndian.Uint16(hdr[18:]))
	}
	archOK := data == elf.ELFDATA2LSB &&
		(class == elf.ELFCLASS64 && machine == elf.EM_X86_64 ||
			class == elf.ELFCLASS32 && (machine == elf.EM_386 || machine == elf.EM_486))
	if !archOK || prog != nil && class != prog.class {
		// An interpreter must be for the program's machine (Linux's
		// elf_check_arch: the binfmt that loads an ELF64 x86-64 program
		// only loads an x86-64 interpreter, the compat one an i386 one).
		ae := &ArchError{Class: class, Data: data, Machine: machine}
		if prog != nil {
			ae.Program = prog.class
		}
		return nil, ae
	}
	if n < hsize {
		return nil, truncated(0, "ELF header is %d bytes, want %d", n, hsize)
	}
	hdr = hdr[:hsize]

	p := &plan{class: class, phent: 56, stackTop: StackTop64}
	var phoff, entry uint64
	phnumOff := int64(56)
	p.typ = elf.Type(le.Uint16(hdr[16:]))
	if class == elf.ELFCLASS64 {
		entry, phoff = le.Uint64(hdr[24:]), le.Uint64(hdr[32:])
		if le.Uint16(hdr[54:]) != 56 {
			return nil, badELF(54, "e_phentsize is %d, want 56", le.Uint16(hdr[54:]))
		}
		p.phnum = uint64(le.Uint16(hdr[56:]))
	} else {
		entry, phoff = uint64(le.Uint32(hdr[24:])), uint64(le.Uint32(hdr[28:]))
		if le.Uint16(hdr[42:]) != 32 {
			return nil, badELF(42, "e_phentsize is %d, want 32", le.Uint16(hdr[42:]))
		}
		p.phnum = uint64(le.Uint16(hdr[44:]))
		p.phent = 32
		phnumOff = 44
		p.stackTop = StackTop32
	}
	if p.typ != elf.ET_EXEC && p.typ != elf.ET_DYN {
		return nil, badELF(16, "ELF type %s is not an executable", p.typ)
	}
	if p.phnum == 0 {
		return nil, badELF(phnumOff, "no program headers")
	}
	phsize := p.phnum * p.phent
	if phsize > maxPhdrSize {
		return nil, badELF(phnumOff, "%d program headers exceed the limit of %d bytes", p.phnum, maxPhdrSize)
	}
	if p.size, err = fileSize(r); err != nil {
		return nil, err
	}
	size := uint64(p.size)
	if phoff > size || phsize > size-phoff {
		return nil, truncated(int64(min(phoff, size)), "program headers [%#x, %#x) beyond end of file %#x", phoff, phoff+phsize, size)
	}

	f, err := parseELF(r, hdr, class)
	if err != nil {
		return nil, err
	}
	if uint64(len(f.Progs)) != p.phnum {
		return nil, badELF(int64(phoff), "debug/elf read %d program headers, want %d", len(f.Progs), p.phnum)
	}
	p.file = f
	phOffOf := func(i int) int64 { return int64(phoff + uint64(i)*p.phent) }

	// The program's first PT_INTERP names its interpreter and its
	// PT_GNU_STACK the stack's protection; the kernel reads neither in
	// the interpreter.
	if prog == nil {
		for i, ph := range f.Progs {
			if ph.Type == elf.PT_INTERP {
				if p.interp, err = readInterp(r, ph, phOffOf(i), size); err != nil {
					return nil, err
				}
				break
			}
		}
		for _, ph := range f.Progs {
			if ph.Type == elf.PT_GNU_STACK {
				p.stack = stackNoExec
				if ph.Flags&elf.PF_X != 0 {
					p.stack = stackExec
				}
				break
			}
		}
	}

	limit := p.stackTop // TASK_SIZE
	stack := mm.AddrRange{Start: p.stackTop - StackSize, End: p.stackTop}
	if mmapBase == 0 {
		mmapBase = MmapBase64
		if class == elf.ELFCLASS32 {
			mmapBase = MmapBase32
		}
	}

	for i, ph := range f.Progs {
		if ph.Type != elf.PT_LOAD {
			continue
		}
		at := phOffOf(i)
		if ph.Filesz > ph.Memsz {
			return nil, badELF(at, "PT_LOAD p_filesz %#x > p_memsz %#x", ph.Filesz, ph.Memsz)
		}
		if ph.Off > size || ph.Filesz > size-ph.Off {
			return nil, truncated(at, "PT_LOAD data [%#x, %#x) beyond end of file %#x", ph.Off, ph.Off+ph.Filesz, size)
		}
		if ph.Filesz > 0 && ph.Off%mm.PageSize != ph.Vaddr%mm.PageSize {
			return nil, badELF(at, "PT_LOAD p_offset %#x and p_vaddr %#x differ modulo the page size", ph.Off, ph.Vaddr)
		}
		if _, ok := mm.Addr(ph.Vaddr).AddLength(ph.Memsz); !ok || ph.Memsz > uint64(limit) {
			return nil, badELF(at, "PT_LOAD [%#x, +%#x) beyond the end of the address space %#x", ph.Vaddr, ph.Memsz, limit)
		}
	}
	if p.typ == elf.ET_DYN {
		if p.bias, err = p.placeDyn(prog, mmapBase); err != nil {
			return nil, err
		}
	}

	for i, ph := range f.Progs {
		if ph.Type != elf.PT_LOAD || ph.Memsz == 0 {
			continue
		}
		at := phOffOf(i)
		va := mm.Addr(ph.Vaddr) + p.bias
		end, ok := va.AddLength(ph.Memsz)
		if !ok || end > limit {
			return nil, badELF(at, "PT_LOAD [%#x, +%#x) beyond the end of the address space %#x", ph.Vaddr, ph.Memsz, limit)
		}
		if va.RoundDown() < MinAddr {
			return nil, badELF(at, "PT_LOAD at %#x below the lowest mappable address %#x", va, MinAddr)
		}
		s := segment{vaddr: va, off: ph.Off, filesz: ph.Filesz, memsz: ph.Memsz, prot: protOf(ph.Flags)}
		if s.pages().Overlaps(stack) {
			return nil, badELF(at, "PT_LOAD [%#x, %#x) overlaps the stack [%#x, %#x)", va, end, stack.Start, stack.End)
		}
		if prog != nil {
			for _, o := range prog.segs {
				if s.pages().Overlaps(o.pages()) {
					return nil, badELF(at, "PT_LOAD [%#x, %#x) overlaps the program's [%#x, %#x)", va, end, o.vaddr, o.end())
				}
			}
		}
		p.segs = append(p.segs, s)
		if e, _ := end.RoundUp(); e > p.brk {
			p.brk = e
		}
	}
	if len(p.segs) == 0 {
		return nil, badELF(int64(phoff), "no loadable segment")
	}
	slices.SortStableFunc(p.segs, func(a, b segment) int {
		switch {
		case a.vaddr < b.vaddr:
			return -1
		case a.vaddr > b.vaddr:
			return 1
		}
		return 0
	})
	for i := 1; i < len(p.segs); i++ {
		a, b := p.segs[i-1], p.segs[i]
		if b.vaddr < a.end() {
			return nil, badELF(int64(phoff), "PT_LOAD segments [%#x, %#x) and [%#x, %#x) overlap", a.vaddr, a.end(), b.vaddr, b.end())
		}
	}
	// A loader run directly has its break away from the mmap area it is
	// loaded in (load_elf_binary without CONFIG_COMPAT_BRK).
	if prog == nil && p.typ == elf.ET_DYN && p.interp == "" {
		p.brk = LoaderBrk64
		if class == elf.ELFCLASS32 {
			p.brk = LoaderBrk32
		}
	}

	p.entry = mm.Addr(entry) + p.bias
	if p.entry >= limit {
		return nil, badELF(24, "entry point %#x beyond the end of the address space %#x", p.entry, limit)
	}

	// AT_PHDR: the address of the program headers within the PT_LOAD that
	// maps them (as load_elf_binary), else PT_PHDR's address.
	found := false
	for _, ph := range f.Progs {
		if ph.Type == elf.PT_LOAD && ph.Off <= phoff && phoff-ph.Off < ph.Filesz {
			p.phdr = mm.Addr(phoff-ph.Off+ph.Vaddr) + p.bias
			found = true
		}
	}
	if !found {
		for _, ph := range f.Progs {
			if ph.Type == elf.PT_PHDR {
				p.phdr = mm.Addr(ph.Vaddr) + p.bias
				found = true
				break
			}
		}
	}
	if !found {
		p.phdr = p.bias
	}
	if class == elf.ELFCLASS32 {
		p.phdr &= 0xffffffff
	}
	return p, nil
}

// readInterp reads the PT_INTERP path as load_elf_binary does: between 2
// and PATH_MAX bytes ending with a NUL; the path ends at its first NUL.
func readInterp(r io.ReaderAt, ph *elf.Prog, at int64, size uint64) (string, error) {
	if ph.Filesz > maxInterpLen || ph.Filesz < 2 {
		return "", badELF(at, "PT_INTERP of %d bytes, want 2 to %d", ph.Filesz, maxInterpLen)
	}
	if ph.Off > size || ph.Filesz > size-ph.Off {
		return "", truncated(at, "PT_INTERP [%#x, %#x) beyond end of file %#x", ph.Off, ph.Off+ph.Filesz, size)
	}
	b := make([]byte, ph.Filesz)
	got, err := readAt(r, b, int64(ph.Off))
	if err != nil {
		return "", err
	}
	if got < len(b) {
		return "", truncated(int64(ph.Off), "file shrank while reading PT_INTERP")
	}
	if b[len(b)-1] != 0 {
		return "", badELF(int64(ph.Off), "PT_INTERP %q is not NUL-terminated", b)
	}
	return cstring(string(b)), nil
}

// placeDyn returns the load bias of an ET_DYN file, as load_elf_binary
// and load_elf_interp choose it without randomization: a program with an
// interpreter (a PIE) at ELF_ET_DYN_BASE aligned down to its largest
// PT_LOAD alignment; a program without (a loader such as ld.so run
// directly, or a static-pie) and an interpreter where mmap would put
// their whole extent, top-down below mmapBase, a loader's base then
// aligned down to its largest alignment. The interpreter keeps clear of
// the program's pages.
func (p *plan) placeDyn(prog *plan, mmapBase mm.Addr) (mm.Addr, error) {
	align := uint64(mm.PageSize)
	var first mm.Addr
	lo, hi := ^mm.Addr(0), mm.Addr(0)
	seen := false
	for _, ph := range p.file.Progs {
		if ph.Type != elf.PT_LOAD {
			continue
		}
		if ph.Align&(ph.Align-1) == 0 && ph.Align > align {
			align = ph.Align
		}
		if !seen {
			first = mm.Addr(ph.Vaddr)
			seen = true
		}
		lo = min(lo, mm.Addr(ph.Vaddr).RoundDown())
		hi = max(hi, mm.Addr(ph.Vaddr)+mm.Addr(ph.Memsz)) // bounded by analyze
	}
	if !seen {
		return 0, badELF(0, "no loadable segment")
	}
	if prog == nil && p.interp != "" {
		base := DynBase64
		if p.class == elf.ELFCLASS32 {
			base = DynBase32
		}
		return ((base &^ mm.Addr(align-1)) - first).RoundDown(), nil
	}
	total, ok := (hi - lo).RoundUp()
	var avoid []mm.AddrRange
	if prog != nil {
		for _, s := range prog.segs {
			avoid = append(avoid, s.pages())
		}
	}
	base, found := topDown(mmapBase, uint64(total), avoid)
	if !ok || !found {
		return 0, badELF(0, "PT_LOAD segments of %#x bytes do not fit below %#x", hi-lo, mmapBase)
	}
	if prog == nil {
		base &^= mm.Addr(align - 1)
		return (base - first).RoundDown(), nil
	}
	return base - first.RoundDown(), nil
}

// topDown returns the start of the highest free range of size bytes below
// top and at or above MinAddr, free meaning clear of avoid, as a top-down
// mmap finds it.
func topDown(top mm.Addr, size uint64, avoid []mm.AddrRange) (mm.Addr, bool) {
	for {
		if uint64(top) < size || top-mm.Addr(size) < MinAddr {
			return 0, false
		}
		r := mm.AddrRange{Start: top - mm.Addr(size), End: top}
		next := top
		for _, a := range avoid {
			if a.Overlaps(r) {
				next = min(next, a.Start)
			}
		}
		if next == top {
			return r.Start, true
		}
		top = next
	}
}

// protOf converts PT_LOAD p_flags to a protection.
func protOf(f elf.ProgFlag) mm.Prot {
	var p mm.Prot
	if f&elf.PF_R != 0 {
		p |= mm.ProtRead
	}
	if f&elf.PF_W != 0 {
		p |= mm.ProtWrite
	}
	if f&elf.PF_X != 0 {
		p |= mm.ProtExec
	}
	return p
}
