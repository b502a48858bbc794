package mm

import (
	"encoding/binary"
	"fmt"
	"testing"
)

// FuzzOps decodes its input into a sequence of operations on up to three
// address spaces that share one RAM pool and one shared file object
// (map, unmap, protect, remap, brk, fork, release, MADV_DONTNEED, copy
// in and out, CMA between them) and checks after every step:
//   - each frame's reference count equals the references the page tables
//     (leaves and tables) and the shared objects hold, and no frame is
//     pinned between operations;
//   - a frame nobody refers to is free, and none is mapped while free;
//   - every leaf entry lies inside a VMA and grants no more than it, a
//     writable private page is mapped once and nowhere else, a clean
//     shared file page is not writable, and a shared page is its object's
//     frame;
//   - the first eight bytes of every page read what a simple model says
//     (the last value written there, zero for fresh anonymous memory,
//     the file's bytes for a shared file page);
//   - copy-in, copy-out and CMA succeed exactly when the VMAs allow them;
//   - after every address space and the object are released, the pool
//     has as many frames in use as at the start, and the file holds what
//     was written through the mappings.
func FuzzOps(f *testing.F) {
	for _, s := range []string{
		"",
		"\x00\x00\x02\x07\x00\x06\x00\x05",
		"\x00\x00\x00\x03\x03\x06\x00\x01\x11\x05\x00\x00\x02\x05\x01\x02\x01\x00",
		"\x00\x00\x00\x04\x03\x06\x00\x04\x00\x02\x06\x00\x00\x02\x06\x01\x00\x01\x08\x00\x00\x00\x02\x01\x00\x04\x01\x00",
		"\x00\x00\x04\x04\x13\x06\x00\x02\x06\x01\x04\x02\x01\x08\x01\x01\x00\x02\x06\x00\x09\x00\x09\x01",
		"\x00\x00\x00\x08\x03\x06\x00\x03\x00\x04\x00\x01\x05\x01\x00\x06\x00\x0b\x01\x07\x00\x01\x00\x01\x08\x10\x00\x04",
		"\x07\x00\x05\x06\x00\x02\x07\x00\x07\x05\x00\x01\x06\x00\x03\x00\x06\x01\x00",
		"\x00\x00\x00\x02\x0b\x06\x00\x00\x04\x00\x00\x00\x02\x0c\x00\x00\x01\x02\x03\x00\x0b\x01",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 600 {
			data = data[:600]
		}
		runOps(t, data)
	})
}

const (
	opsBase   Addr = 0x1000_0000 // the window most operations aim at
	opsPages       = 48
	opsBrk         = opsBase + 64*PageSize
	fileSize       = 6 * PageSize
	fileMagic      = 0xf11e_0000
)

// cellKey names a page's memory: a private page of one address space, or
// a page of a shared object.
type cellKey struct {
	mm  int
	va  Addr
	obj *SharedObject
	pg  uint64
}

type opsState struct {
	t     *testing.T
	ram   *RAM
	mms   [3]*MM
	ids   [3]int
	next  int
	obj   *SharedObject
	file  *memFile
	cells map[cellKey]uint64
	val   uint64
	step  int
	desc  string
}

type opsReader struct {
	b []byte
	i int
}

func (r *opsReader) more() bool { return r.i < len(r.b) }

func (r *opsReader) byte() byte {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func runOps(t *testing.T, data []byte) {
	ram, err := NewRAM(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer ram.Close()
	start := ram.UsedFrames()
	s := &opsState{t: t, ram: ram, cells: map[cellKey]uint64{}}
	s.file = &memFile{data: make([]byte, fileSize)}
	for pg := uint64(0); pg < fileSize/PageSize; pg++ {
		binary.LittleEndian.PutUint64(s.file.data[pg*PageSize:], fileMagic+pg)
	}
	s.obj = NewFileObject(s.file, nil)
	s.mms[0] = s.newMM()
	r := &opsReader{b: data}
	for r.more() {
		s.step++
		s.apply(r)
		s.check()
	}
	for i := range s.mms {
		s.release(i)
	}
	s.obj.Release(ram)
	s.desc = "released everything"
	if got := ram.UsedFrames(); got != start {
		s.fail("%d frames in use after releasing everything, %d at the start", got, start)
	}
	for pg := uint64(0); pg < fileSize/PageSize; pg++ {
		want := s.initial(cellKey{obj: s.obj, pg: pg})
		if v, ok := s.cells[cellKey{obj: s.obj, pg: pg}]; ok {
			want = v
		}
		if got := binary.LittleEndian.Uint64(s.file.data[pg*PageSize:]); got != want {
			s.fail("file page %d holds %#x after write-back, want %#x", pg, got, want)
		}
	}
	if s.file.refs != 0 {
		s.fail("file references %d after release", s.file.refs)
	}
}

func (s *opsState) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("step %d (%s): %s", s.step, s.desc, fmt.Sprintf(format, args...))
}

func (s *opsState) newMM() *MM {
	m, err := New(s.ram, Layout64)
	if err != nil {
		s.fail("New: %v", err)
	}
	m.SetBrk(opsBrk)
	return m
}

// slot picks a live address space (nil if none).
func (s *opsState) slot(b byte) (int, *MM) {
	for k := 0; k < len(s.mms); k++ {
		i := (int(b) + k) % len(s.mms)
		if s.mms[i] != nil {
			return i, s.mms[i]
		}
	}
	return -1, nil
}

func pageAddr(b byte) Addr { return opsBase + Addr(int(b)%opsPages)*PageSize }

func pages(b byte, max int) uint64 { return uint64(int(b)%max+1) * PageSize }

func (s *opsState) apply(r *opsReader) {
	op := r.byte() % 12
	if s.mms[0] == nil && s.mms[1] == nil && s.mms[2] == nil {
		s.mms[0] = s.newMM()
		s.next++
		s.ids[0] = s.next
	}
	i, m := s.slot(r.byte())
	switch op {
	case 0: // mmap
		addr, length, pb, fl := pageAddr(r.byte()), pages(r.byte(), 8), r.byte(), r.byte()
		o := MapOpts{Addr: addr, Length: length, Prot: Prot(pb & 7), Fixed: fl&1 != 0, NoReplace: fl&2 != 0}
		kind := "private"
		switch fl >> 2 & 3 {
		case 1:
			o.Shared, kind = true, "shared"
		case 2:
			o.Shared, o.Object, o.Offset, kind = true, s.obj, uint64(pb>>3)%6*PageSize, "file"
			o.ReadOnlyFile = fl&16 != 0
		}
		s.desc = fmt.Sprintf("mm%d map %#x+%#x %s %s %+v", s.ids[i], addr, length, o.Prot, kind, fl)
		got, err := m.Map(o)
		if err == nil {
			s.forgetPrivate(i, AddrRange{got, got + Addr(length)})
		}
	case 1: // munmap
		addr, length := pageAddr(r.byte()), pages(r.byte(), 12)
		s.desc = fmt.Sprintf("mm%d unmap %#x+%#x", s.ids[i], addr, length)
		_ = m.Unmap(addr, length)
	case 2: // mprotect
		addr, length, p := pageAddr(r.byte()), pages(r.byte(), 12), Prot(r.byte()&7)
		s.desc = fmt.Sprintf("mm%d protect %#x+%#x %s", s.ids[i], addr, length, p)
		_ = m.Protect(addr, length, p)
	case 3: // mremap
		old, ol, nl, fl, to := pageAddr(r.byte()), pages(r.byte(), 6), pages(r.byte(), 8), r.byte(), pageAddr(r.byte())
		mayMove, fixed := fl&1 != 0, fl&2 != 0
		s.desc = fmt.Sprintf("mm%d remap %#x+%#x -> %#x move=%v fixed=%v at %#x", s.ids[i], old, ol, nl, mayMove, fixed, to)
		saved := map[Addr]uint64{}
		for k, v := range s.cells {
			if k.obj == nil && k.mm == s.ids[i] && k.va >= old && k.va < old+Addr(ol) {
				saved[k.va-old] = v
			}
		}
		got, err := m.Remap(old, ol, nl, mayMove, fixed, to)
		if err == nil {
			s.forgetPrivate(i, AddrRange{old, old + Addr(ol)})
			s.forgetPrivate(i, AddrRange{got, got + Addr(nl)})
			for off, v := range saved {
				if uint64(off) < nl {
					s.cells[cellKey{mm: s.ids[i], va: got + off}] = v
				}
			}
		}
	case 4: // brk
		want := opsBrk + Addr(r.byte())*0x800
		s.desc = fmt.Sprintf("mm%d brk %#x", s.ids[i], want)
		m.Brk(want)
	case 5: // fork
		j := -1
		for k := range s.mms {
			if s.mms[k] == nil {
				j = k
				break
			}
		}
		s.desc = fmt.Sprintf("mm%d fork", s.ids[i])
		if j < 0 {
			return
		}
		c, err := m.Fork()
		if err != nil {
			s.fail("fork: %v", err)
		}
		s.next++
		s.mms[j], s.ids[j] = c, s.next
		for k, v := range s.cells {
			if k.obj == nil && k.mm == s.ids[i] {
				s.cells[cellKey{mm: s.ids[j], va: k.va}] = v
			}
		}
	case 6: // exit
		s.desc = fmt.Sprintf("mm%d release", s.ids[i])
		s.release(i)
	case 7: // MADV_DONTNEED
		addr, length := pageAddr(r.byte()), pages(r.byte(), 8)
		s.desc = fmt.Sprintf("mm%d dontneed %#x+%#x", s.ids[i], addr, length)
		if m.DontNeed(addr, length) == nil {
			for va := addr; va < addr+Addr(length); va += PageSize {
				if v, ok := m.FindVMA(va); ok && v.Object == nil {
					delete(s.cells, cellKey{mm: s.ids[i], va: va})
				}
			}
		}
	case 8: // copy out
		addr := pageAddr(r.byte())
		s.val++
		val := s.val<<8 | uint64(s.step&0xff)
		s.desc = fmt.Sprintf("mm%d copyout %#x = %#x", s.ids[i], addr, val)
		v, ok := m.FindVMA(addr)
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], val)
		n, err := m.CopyOut(addr, b[:])
		want := ok && v.Prot&ProtWrite != 0
		if (err == nil) != want || (err == nil && n != 8) {
			s.fail("CopyOut = %d, %v; VMA %+v (found %v)", n, err, v, ok)
		}
		if err == nil {
			s.cells[s.key(i, addr)] = val
		}
	case 9: // copy in
		addr := pageAddr(r.byte())
		s.desc = fmt.Sprintf("mm%d copyin %#x", s.ids[i], addr)
		v, ok := m.FindVMA(addr)
		var b [8]byte
		n, err := m.CopyIn(addr, b[:])
		want := ok && v.Prot != ProtNone
		if (err == nil) != want || (err == nil && n != 8) {
			s.fail("CopyIn = %d, %v; VMA %+v (found %v)", n, err, v, ok)
		}
	case 10, 11: // CMA
		j, remote := s.slot(r.byte())
		var liov, riov []IOVec
		for _, iov := range []*[]IOVec{&liov, &riov} {
			n := int(r.byte()%3) + 1
			for k := 0; k < n; k++ {
				a, l := pageAddr(r.byte()), r.byte()
				*iov = append(*iov, IOVec{Base: a, Len: uint64(l%5) * PageSize})
			}
		}
		dir := ReadRemote
		if op == 11 {
			dir = WriteRemote
		}
		s.desc = fmt.Sprintf("cma %s local mm%d %v remote mm%d %v", dir, s.ids[i], liov, s.ids[j], riov)
		s.cma(i, m, liov, j, remote, riov, dir)
	}
}

// key returns the cell that holds the page of va in address space i.
func (s *opsState) key(i int, va Addr) cellKey {
	va = va.RoundDown()
	v, ok := s.mms[i].FindVMA(va)
	if ok && v.Object != nil {
		return cellKey{obj: v.Object, pg: v.pageIndex(va)}
	}
	return cellKey{mm: s.ids[i], va: va}
}

// index returns the slot of the address space with id, or -1.
func (s *opsState) index(id int) int {
	for i, m := range s.mms {
		if m != nil && s.ids[i] == id {
			return i
		}
	}
	return -1
}

// initial is the value of a cell nothing was written to.
func (s *opsState) initial(k cellKey) uint64 {
	if k.obj != nil && k.obj == s.obj && k.pg < fileSize/PageSize {
		return fileMagic + k.pg
	}
	return 0
}

func (s *opsState) value(k cellKey) uint64 {
	if v, ok := s.cells[k]; ok {
		return v
	}
	return s.initial(k)
}

// forgetPrivate drops the private cells of address space i in r: the
// memory there is new.
func (s *opsState) forgetPrivate(i int, r AddrRange) {
	for k := range s.cells {
		if k.obj == nil && k.mm == s.ids[i] && r.Contains(k.va) {
			delete(s.cells, k)
		}
	}
}

func (s *opsState) release(i int) {
	if s.mms[i] == nil {
		return
	}
	s.mms[i].Release()
	s.forgetPrivate(i, AddrRange{0, ^Addr(0)})
	s.mms[i] = nil
}

func (s *opsState) cma(i int, local *MM, liov []IOVec, j int, remote *MM, riov []IOVec, dir CopyDirection) {
	flat := func(iov []IOVec) []Addr {
		var out []Addr
		for _, v := range iov {
			for a := v.Base; a < v.Base+Addr(v.Len); a += PageSize {
				out = append(out, a)
			}
		}
		return out
	}
	lp, rp := flat(liov), flat(riov)
	n := min(len(lp), len(rp))
	lp, rp = lp[:n], rp[:n]
	// The pages copied: the leading pairs both sides may access.
	want := 0
	for ; want < n; want++ {
		rv, rok := remote.FindVMA(rp[want])
		lv, lok := local.FindVMA(lp[want])
		if dir == ReadRemote {
			rok = rok && rv.Prot&ProtRead != 0
			lok = lok && lv.Prot&ProtWrite != 0
		} else {
			rok = rok && rv.Prot&ProtWrite != 0
			lok = lok && lv.Prot != ProtNone
		}
		if !rok || !lok {
			break
		}
	}
	src, dst := make([]cellKey, want), make([]cellKey, want)
	overlap := false
	seen := map[cellKey]bool{}
	for k := 0; k < want; k++ {
		lk, rk := s.key(i, lp[k]), s.key(j, rp[k])
		if dir == ReadRemote {
			src[k], dst[k] = rk, lk
		} else {
			src[k], dst[k] = lk, rk
		}
		seen[src[k]] = true
	}
	for _, k := range dst {
		overlap = overlap || seen[k]
	}
	vals := make([]uint64, want)
	for k := range src {
		vals[k] = s.value(src[k])
	}
	got, err := CopyBetween(local, liov, remote, riov, CopyOpts{Dir: dir})
	switch {
	case n == 0 && (got != 0 || err != nil):
		s.fail("nothing to copy, got %d, %v", got, err)
	case n > 0 && want == 0 && (got != 0 || err == nil):
		s.fail("want EFAULT, got %d, %v", got, err)
	case want > 0 && (got != want*PageSize || err != nil):
		s.fail("want %d bytes, got %d, %v", want*PageSize, got, err)
	}
	for k := range dst {
		if overlap {
			// Source and destination share memory: the result depends
			// on how the copy is split; take what is there.
			s.cells[dst[k]] = s.read(dst[k], i, j, lp[k], rp[k], dir)
		} else {
			s.cells[dst[k]] = vals[k]
		}
	}
}

// read returns the first eight bytes of the page of dst as they are.
func (s *opsState) read(dst cellKey, i, j int, lpage, rpage Addr, dir CopyDirection) uint64 {
	m, va := s.mms[i], lpage
	if dir == WriteRemote {
		m, va = s.mms[j], rpage
	}
	w := m.Walk(va)
	if w.Leaf.HasFrame() {
		return binary.LittleEndian.Uint64(s.ram.Bytes(w.Leaf.Frame()))
	}
	return s.value(dst)
}

// check verifies the invariants of the pool, the page tables, the VMAs and
// the contents.
func (s *opsState) check() {
	s.t.Helper()
	ram := s.ram
	// Memory that is no longer mapped, or mapped shared now, has no
	// private cell any more.
	for k := range s.cells {
		if k.obj != nil {
			continue
		}
		i := s.index(k.mm)
		if i < 0 {
			delete(s.cells, k)
			continue
		}
		if v, ok := s.mms[i].FindVMA(k.va); !ok || v.Object != nil {
			delete(s.cells, k)
		}
	}
	refs := make(map[Frame]int)
	refs[ram.ZeroFrame]++
	ptes := make(map[Frame]int)
	objFrames := map[Frame]bool{}
	objs := map[*SharedObject]bool{s.obj: true}
	for i, m := range s.mms {
		if m == nil {
			continue
		}
		for _, v := range m.vmas.list {
			if v.Object != nil {
				objs[v.Object] = true
			}
		}
		var tables func(f Frame, l int)
		tables = func(f Frame, l int) {
			refs[f]++
			if l == Levels-1 {
				return
			}
			for idx := 0; idx < 512; idx++ {
				e := load(m.pt.entry(f, idx))
				if e.Present() {
					tables(e.Frame(), l+1)
				}
			}
		}
		tables(m.pt.root, 0)
		m.pt.forEachLeaf(0, TaskSize, func(va Addr, slot *uint64) {
			e := load(slot)
			f := e.Frame()
			refs[f]++
			ptes[f]++
			v := m.vmas.find(va)
			if v == nil {
				s.fail("mm%d: %#x maps frame %#x outside any VMA (%v)", s.ids[i], va, f, e)
			}
			p := e.Prot()
			if p&^ProtRead&^v.Prot != 0 || (v.Prot == ProtNone && e.Present()) {
				s.fail("mm%d: %#x entry %v grants %s, VMA %s", s.ids[i], va, e, p, v.Prot)
			}
			if e&PTEWrite != 0 && e&PTECOW != 0 {
				s.fail("mm%d: %#x entry %v is writable and COW", s.ids[i], va, e)
			}
			if v.Object != nil {
				v.Object.mu.Lock()
				of, ok := v.Object.frames[v.pageIndex(va)]
				v.Object.mu.Unlock()
				if !ok || of != f {
					s.fail("mm%d: %#x maps frame %#x, its object has %#x (%v)", s.ids[i], va, f, of, ok)
				}
				if v.fileObject() && e&PTEWrite != 0 && e&PTEDirty == 0 {
					s.fail("mm%d: %#x: clean shared file page mapped writable (%v)", s.ids[i], va, e)
				}
			}
		})
		// Contents of every page of every VMA.
		for _, v := range m.vmas.list {
			for va := v.Range.Start; va < v.Range.End; va += PageSize {
				k := s.key(i, va)
				want := s.value(k)
				var got uint64
				w := m.pt.Walk(va)
				switch {
				case w.Leaf.HasFrame():
					got = binary.LittleEndian.Uint64(ram.Bytes(w.Leaf.Frame()))
				case v.Object != nil:
					v.Object.mu.Lock()
					of, ok := v.Object.frames[v.pageIndex(va)]
					v.Object.mu.Unlock()
					if ok {
						got = binary.LittleEndian.Uint64(ram.Bytes(of))
					} else {
						got = s.initial(k)
					}
				default:
					if e := load(m.pt.lookupOrZero(va)); e.HasFrame() {
						got = binary.LittleEndian.Uint64(ram.Bytes(e.Frame()))
					}
				}
				if got != want {
					s.fail("mm%d: %#x reads %#x, want %#x", s.ids[i], va, got, want)
				}
			}
		}
	}
	for o := range objs {
		o.mu.Lock()
		for _, f := range o.frames {
			refs[f]++
			objFrames[f] = true
		}
		o.mu.Unlock()
	}
	// A writable private page is mapped once and belongs to no object.
	for i, m := range s.mms {
		if m == nil {
			continue
		}
		m.pt.forEachLeaf(0, TaskSize, func(va Addr, slot *uint64) {
			e := load(slot)
			v := m.vmas.find(va)
			if v.Object == nil && e&PTEWrite != 0 && (ptes[e.Frame()] != 1 || objFrames[e.Frame()] || e.Frame() == ram.ZeroFrame) {
				s.fail("mm%d: %#x writable private frame %#x mapped %d times (object %v)", s.ids[i], va, e.Frame(), ptes[e.Frame()], objFrames[e.Frame()])
			}
		})
	}
	used := 0
	for f := Frame(1); int(f) < ram.Frames(); f++ {
		got := ram.Refs(f)
		if got != refs[f] {
			s.fail("frame %#x has %d references, the page tables and objects hold %d", f, got, refs[f])
		}
		if ram.Pinned(f) {
			s.fail("frame %#x still pinned", f)
		}
		if got > 0 {
			used++
		}
	}
	if used != ram.UsedFrames() {
		s.fail("UsedFrames %d, %d frames referenced", ram.UsedFrames(), used)
	}
}

// lookupOrZero is lookup with a zero entry for a missing table.
func (pt *PageTable) lookupOrZero(va Addr) *uint64 {
	if p := pt.lookup(va); p != nil {
		return p
	}
	var zero uint64
	return &zero
}
