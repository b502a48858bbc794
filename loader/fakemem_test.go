package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/cmaemu/cmaemu/mm"
)

// fakeMapping is a mapping recorded by fakeMem.
type fakeMapping struct {
	ar   mm.AddrRange
	prot mm.Prot
	name string
	file mm.File // a private file mapping: ar.Start shows the file at off
	off  uint64
}

// fakeMem is a sparse address space for tests: it records mappings, refuses
// overlapping ones, and keeps the pages that were written.
type fakeMem struct {
	maps  []fakeMapping
	pages map[mm.Addr]*[mm.PageSize]byte
}

var (
	_ Memory = (*fakeMem)(nil)
	_ Memory = (*mm.MM)(nil)
)

func newFakeMem() *fakeMem {
	return &fakeMem{pages: map[mm.Addr]*[mm.PageSize]byte{}}
}

// fileMem is a fakeMem that maps files (a FileMapper).
type fileMem struct{ *fakeMem }

var _ FileMapper = fileMem{}

func newFileMem() fileMem { return fileMem{newFakeMem()} }

func (m fileMem) MapFile(ar mm.AddrRange, prot mm.Prot, f mm.File, off uint64) error {
	if off%mm.PageSize != 0 {
		return fmt.Errorf("fakeMem: file offset %#x not page-aligned", off)
	}
	if err := m.MapAnon(ar, prot, f.Name()); err != nil {
		return err
	}
	f.IncRef()
	for i := range m.maps {
		if m.maps[i].ar == ar {
			m.maps[i].file, m.maps[i].off = f, off
		}
	}
	return nil
}

// memFile is an mm.File in memory that counts its references.
type memFile struct {
	*bytes.Reader
	name string
	refs int
}

func newMemFile(name string, data []byte) *memFile {
	return &memFile{Reader: bytes.NewReader(data), name: name, refs: 1}
}

func (f *memFile) IncRef()      { f.refs++ }
func (f *memFile) DecRef()      { f.refs-- }
func (f *memFile) Name() string { return f.name }

func (m *fakeMem) MapAnon(ar mm.AddrRange, prot mm.Prot, name string) error {
	if !ar.Start.IsPageAligned() || !ar.End.IsPageAligned() || ar.Start >= ar.End {
		return fmt.Errorf("fakeMem: bad range [%#x, %#x)", ar.Start, ar.End)
	}
	if ar.End > mm.TaskSize {
		return fmt.Errorf("fakeMem: range [%#x, %#x) beyond TaskSize", ar.Start, ar.End)
	}
	for _, o := range m.maps {
		if o.ar.Overlaps(ar) {
			return fmt.Errorf("fakeMem: [%#x, %#x) overlaps [%#x, %#x)", ar.Start, ar.End, o.ar.Start, o.ar.End)
		}
	}
	m.maps = append(m.maps, fakeMapping{ar: ar, prot: prot, name: name})
	slices.SortFunc(m.maps, func(a, b fakeMapping) int {
		if a.ar.Start < b.ar.Start {
			return -1
		}
		return 1
	})
	return nil
}

// mapping returns the mapping containing a.
func (m *fakeMem) mapping(a mm.Addr) (fakeMapping, bool) {
	for _, o := range m.maps {
		if o.ar.Contains(a) {
			return o, true
		}
	}
	return fakeMapping{}, false
}

// checkMapped reports an error unless [a, a+n) is mapped.
func (m *fakeMem) checkMapped(a mm.Addr, n uint64) error {
	end, ok := a.AddLength(n)
	if !ok {
		return fmt.Errorf("fakeMem: range at %#x wraps", a)
	}
	for a < end {
		o, ok := m.mapping(a)
		if !ok {
			return fmt.Errorf("fakeMem: %#x is not mapped", a)
		}
		a = o.ar.End
	}
	return nil
}

// page returns the page at pg as the guest sees it, or nil for a page
// never written nor backed by a file (zeros).
func (m *fakeMem) page(pg mm.Addr) *[mm.PageSize]byte {
	if p := m.pages[pg]; p != nil {
		return p
	}
	o, ok := m.mapping(pg)
	if !ok || o.file == nil {
		return nil
	}
	p := new([mm.PageSize]byte)
	if _, err := o.file.ReadAt(p[:], int64(o.off+uint64(pg-o.ar.Start))); err != nil && err != io.EOF {
		panic(err)
	}
	return p
}

func (m *fakeMem) WriteForce(addr mm.Addr, data []byte) error {
	if err := m.checkMapped(addr, uint64(len(data))); err != nil {
		return err
	}
	for len(data) > 0 {
		pg := addr.RoundDown()
		p := m.pages[pg]
		if p == nil {
			// A private copy of the page, from the file if it maps one.
			if p = m.page(pg); p == nil {
				p = new([mm.PageSize]byte)
			}
			m.pages[pg] = p
		}
		n := copy(p[addr.PageOffset():], data)
		data = data[n:]
		addr += mm.Addr(n)
	}
	return nil
}

// read returns n bytes at addr, which must be mapped.
func (m *fakeMem) read(addr mm.Addr, n uint64) ([]byte, error) {
	if err := m.checkMapped(addr, n); err != nil {
		return nil, err
	}
	out := make([]byte, 0, n)
	for uint64(len(out)) < n {
		pg := addr.RoundDown()
		k := min(n-uint64(len(out)), mm.PageSize-addr.PageOffset())
		if p := m.page(pg); p != nil {
			off := addr.PageOffset()
			out = append(out, p[off:off+k]...)
		} else {
			out = append(out, make([]byte, k)...)
		}
		addr += mm.Addr(k)
	}
	return out, nil
}

// word reads a little-endian word of ws bytes.
func (m *fakeMem) word(addr mm.Addr, ws int) (uint64, error) {
	b, err := m.read(addr, uint64(ws))
	if err != nil {
		return 0, err
	}
	if ws == 4 {
		return uint64(binary.LittleEndian.Uint32(b)), nil
	}
	return binary.LittleEndian.Uint64(b), nil
}

// cstring reads a NUL-terminated string of at most 1 MiB.
func (m *fakeMem) cstring(addr mm.Addr) (string, error) {
	var s []byte
	for {
		b, err := m.read(addr, 1)
		if err != nil {
			return "", err
		}
		if b[0] == 0 {
			return string(s), nil
		}
		s = append(s, b[0])
		addr++
		if len(s) > 1<<20 {
			return "", fmt.Errorf("fakeMem: unterminated string")
		}
	}
}

// isZero reports whether [addr, addr+n) is mapped and all zero.
func (m *fakeMem) isZero(addr mm.Addr, n uint64) (bool, error) {
	if err := m.checkMapped(addr, n); err != nil {
		return false, err
	}
	end := addr + mm.Addr(n)
	for pg := addr.RoundDown(); pg < end; pg += mm.PageSize {
		p := m.page(pg)
		if p == nil {
			continue
		}
		lo, hi := max(pg, addr), min(pg+mm.PageSize, end)
		if !bytes.Equal(p[lo-pg:hi-pg], make([]byte, hi-lo)) {
			return false, nil
		}
	}
	return true, nil
}

// stack is the initial stack parsed back from memory.
type stack struct {
	argc       uint64
	argv, envp []string
	argvAddr   []mm.Addr
	envpAddr   []mm.Addr
	auxv       []AuxEntry // without AT_NULL
}

func (s *stack) aux(t uint64) (uint64, bool) {
	for _, e := range s.auxv {
		if e.Type == t {
			return e.Val, true
		}
	}
	return 0, false
}

// parseStack reads the initial stack at sp the way a libc start routine does.
func (m *fakeMem) parseStack(sp mm.Addr, ws int) (*stack, error) {
	st := &stack{}
	w := mm.Addr(ws)
	var err error
	if st.argc, err = m.word(sp, ws); err != nil {
		return nil, err
	}
	if st.argc > 1<<20 {
		return nil, fmt.Errorf("argc %d", st.argc)
	}
	p := sp + w
	for i := uint64(0); i < st.argc; i++ {
		a, err := m.word(p, ws)
		if err != nil {
			return nil, err
		}
		s, err := m.cstring(mm.Addr(a))
		if err != nil {
			return nil, err
		}
		st.argv = append(st.argv, s)
		st.argvAddr = append(st.argvAddr, mm.Addr(a))
		p += w
	}
	if z, err := m.word(p, ws); err != nil || z != 0 {
		return nil, fmt.Errorf("argv not NULL-terminated: %#x %v", z, err)
	}
	p += w
	for {
		a, err := m.word(p, ws)
		if err != nil {
			return nil, err
		}
		p += w
		if a == 0 {
			break
		}
		s, err := m.cstring(mm.Addr(a))
		if err != nil {
			return nil, err
		}
		st.envp = append(st.envp, s)
		st.envpAddr = append(st.envpAddr, mm.Addr(a))
	}
	for {
		t, err := m.word(p, ws)
		if err != nil {
			return nil, err
		}
		v, err := m.word(p+w, ws)
		if err != nil {
			return nil, err
		}
		p += 2 * w
		if t == AT_NULL {
			break
		}
		st.auxv = append(st.auxv, AuxEntry{t, v})
		if len(st.auxv) > 1000 {
			return nil, fmt.Errorf("auxv not terminated")
		}
	}
	return st, nil
}
