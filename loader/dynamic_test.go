package loader

import (
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/mm"
)

// openBytes returns an Options.OpenInterp that opens data whatever the
// name, or nil for nil data.
func openBytes(data []byte) func(string) (io.ReaderAt, error) {
	if data == nil {
		return nil
	}
	return func(string) (io.ReaderAt, error) { return bytes.NewReader(data), nil }
}

// opener records the names it is asked to open.
type opener struct {
	files map[string][]byte
	err   error // returned for every name if set
	asked []string
}

func (o *opener) open(name string) (io.ReaderAt, error) {
	o.asked = append(o.asked, name)
	if o.err != nil {
		return nil, o.err
	}
	b, ok := o.files[name]
	if !ok {
		return nil, os.ErrNotExist
	}
	return bytes.NewReader(b), nil
}

// TestInterpLayout loads dynamically linked programs with a synthetic
// interpreter: it goes right below the mmap base (with its first page
// at AT_BASE), the process starts at its entry point, and the auxiliary
// vector describes the program.
func TestInterpLayout(t *testing.T) {
	for _, tt := range []struct {
		name     string
		class    elf.Class
		pie      bool
		mmapBase mm.Addr
		base     mm.Addr // AT_BASE
	}{
		// The interpreter's segments span 0x5010 bytes: 6 pages.
		{"exec-64", elf.ELFCLASS64, false, 0, 0x7ffff7ff9000},
		{"pie-64", elf.ELFCLASS64, true, 0, 0x7ffff7ff9000},
		{"exec-32", elf.ELFCLASS32, false, 0, 0xf7ff8000},
		{"pie-32", elf.ELFCLASS32, true, 0, 0xf7ff8000},
		{"layout-32", elf.ELFCLASS32, true, 0xf7fff000, 0xf7ff9000},
		{"layout-64", elf.ELFCLASS64, true, 0x700000000000, 0x6fffffffa000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prog, in := good64(), interp64()
			if tt.class == elf.ELFCLASS32 {
				prog, in = good32(), interp32()
			}
			if tt.pie {
				prog = prog.with(func(s *synth) {
					s.typ, s.entry = elf.ET_DYN, 0x100
					s.segs[0].vaddr, s.segs[1].vaddr = 0, 0x2010
				})
			}
			prog = prog.withInterp("/lib/ld-test.so.1")
			data, idata := prog.build(), in.build()
			o := &opener{files: map[string][]byte{"/lib/ld-test.so.1": idata}}
			opts := testOpts("/bin/prog")
			opts.OpenInterp, opts.MmapBase = o.open, tt.mmapBase
			img, mem, err := loadBytes(data, opts)
			require.NoError(t, err)
			assert.Equal(t, []string{"/lib/ld-test.so.1"}, o.asked, "the interpreter is opened once")
			assert.Equal(t, "/lib/ld-test.so.1", img.Interp)
			assert.Equal(t, tt.base, img.InterpBase)
			assert.Equal(t, tt.base+0x120, img.Entry, "the process starts in the interpreter")
			assert.Equal(t, tt.base+0x6000, img.InterpEnd)
			checkImage(t, data, idata, img, mem)
			checkStack(t, img, mem, opts)
			st, err := mem.parseStack(img.SP, map[elf.Class]int{elf.ELFCLASS32: 4, elf.ELFCLASS64: 8}[img.Class])
			require.NoError(t, err)
			for typ, want := range map[uint64]uint64{
				AT_BASE: uint64(tt.base), AT_ENTRY: uint64(img.ProgEntry), AT_PHDR: uint64(img.Phdr),
				AT_MINSIGSTKSZ: opts.MinSigStkSz, AT_HWCAP2: opts.HWCap2,
			} {
				got, ok := st.aux(typ)
				assert.True(t, ok)
				assert.Equal(t, want, got, "aux %d", typ)
			}
			_, ok := st.aux(AT_SYSINFO_EHDR)
			assert.False(t, ok, "no vDSO, no AT_SYSINFO_EHDR")
			// The brk follows the program, not the interpreter.
			wantBrk := mm.Addr(0x406000)
			if tt.class == elf.ELFCLASS32 {
				wantBrk = 0x804e000
			}
			if tt.pie {
				wantBrk = img.LoadBias + 0x6000
			}
			assert.Equal(t, wantBrk, img.BrkStart)
		})
	}
}

// TestInterpAvoidsProgram: an interpreter goes below a program that sits
// where it would go, as a top-down mmap finds the free range.
func TestInterpAvoidsProgram(t *testing.T) {
	prog := good64().withInterp("/ld").with(func(s *synth) {
		s.segs[0].vaddr, s.segs[1].vaddr, s.entry = 0x7ffff7ff8000, 0x7ffff7ffa010, 0x7ffff7ff8100
	})
	data, idata := prog.build(), interp64().build()
	img, mem, err := loadBytes(data, Options{Args: []string{"p"}, OpenInterp: openBytes(idata)})
	require.NoError(t, err)
	assert.Equal(t, mm.Addr(0x7ffff7ff2000), img.InterpBase)
	checkImage(t, data, idata, img, mem)
}

// TestInterpETExec: an ET_EXEC interpreter is loaded at its addresses and
// AT_BASE is 0, as load_elf_interp does.
func TestInterpETExec(t *testing.T) {
	prog := good64().withInterp("/ld")
	in := good64().with(func(s *synth) {
		s.segs[0].vaddr, s.segs[1].vaddr, s.entry = 0x20000000, 0x20002010, 0x20000100
	})
	data, idata := prog.build(), in.build()
	opts := Options{Args: []string{"p"}, OpenInterp: openBytes(idata)}
	img, mem, err := loadBytes(data, opts)
	require.NoError(t, err)
	assert.Zero(t, img.InterpBase)
	assert.Equal(t, mm.Addr(0x20000100), img.Entry)
	checkImage(t, data, idata, img, mem)
	checkStack(t, img, mem, opts)
}

// TestInterpPTInterpIgnored: the kernel does not read the interpreter's
// own PT_INTERP (load_elf_interp), valid or not: it is not followed.
func TestInterpPTInterpIgnored(t *testing.T) {
	for _, in := range []synth{
		interp64().withInterp("/lib/other.so"),
		interp64().with(func(s *synth) { // not NUL-terminated, too long
			s.segs = append(s.segs, pseg{typ: elf.PT_INTERP, off: 0x200, filesz: 5000})
		}),
	} {
		o := &opener{files: map[string][]byte{"/ld": in.build()}}
		data := good64().withInterp("/ld").build()
		img, mem, err := loadBytes(data, Options{Args: []string{"p"}, OpenInterp: o.open})
		require.NoError(t, err)
		assert.Equal(t, []string{"/ld"}, o.asked)
		checkImage(t, data, o.files["/ld"], img, mem)
	}
}

// TestInterpErrors: a missing or unusable interpreter fails the exec
// before anything is mapped; the open's error is kept, a bad file is
// ErrBadInterp (ELIBBAD) and nothing else.
func TestInterpErrors(t *testing.T) {
	errNoEnt := errors.New("no such file (test)")
	in64 := interp64()
	tests := []struct {
		name   string
		prog   synth
		interp []byte
		err    error // the opener's
		want   error
		msg    string
	}{
		{name: "missing", prog: good64(), err: errNoEnt, want: errNoEnt},
		{name: "missing 32", prog: good32(), err: os.ErrNotExist, want: os.ErrNotExist},
		{name: "not ELF", prog: good64(), interp: []byte("#!/bin/sh\n"), want: ErrBadInterp, msg: "not an ELF file"},
		{name: "empty", prog: good64(), interp: []byte{}, want: ErrBadInterp},
		{name: "i386 for x86-64", prog: good64(), interp: interp32().build(), want: ErrBadInterp, msg: "the program is ELFCLASS64"},
		{name: "x86-64 for i386", prog: good32(), interp: in64.build(), want: ErrBadInterp, msg: "the program is ELFCLASS32"},
		{name: "arm", prog: good32(), interp: interp32().with(func(s *synth) { s.machine = elf.EM_ARM }).build(), want: ErrBadInterp},
		{name: "x32", prog: good64(), interp: interp32().with(func(s *synth) { s.machine = elf.EM_X86_64 }).build(), want: ErrBadInterp},
		{name: "truncated", prog: good64(), interp: in64.build()[:100], want: ErrBadInterp},
		{name: "relocatable", prog: good64(), interp: in64.with(func(s *synth) { s.typ = elf.ET_REL }).build(), want: ErrBadInterp},
		{name: "no PT_LOAD", prog: good64(), interp: in64.with(func(s *synth) { s.segs = s.segs[2:] }).build(), want: ErrBadInterp},
		{name: "over the program", prog: good64(), interp: good64().build(), want: ErrBadInterp, msg: "overlaps the program"},
		{name: "I/O error", prog: good64(), err: errDisk, want: errDisk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.prog.withInterp("/lib/ld-musl-x86_64.so.1").build()
			_, err := Check(bytes.NewReader(data))
			require.NoError(t, err, "the program itself is fine")
			mem := newFakeMem()
			open := func(string) (io.ReaderAt, error) {
				if tt.err != nil {
					return nil, tt.err
				}
				return bytes.NewReader(tt.interp), nil
			}
			img, err := Load(bytes.NewReader(data), mem, Options{Args: []string{"p"}, OpenInterp: open})
			require.Error(t, err)
			t.Log(err)
			assert.Nil(t, img)
			assert.Empty(t, mem.maps, "nothing mapped on error")
			require.ErrorIs(t, err, tt.want)
			var ie *InterpError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, "/lib/ld-musl-x86_64.so.1", ie.Name)
			for _, s := range sentinels {
				if s != tt.want {
					assert.NotErrorIs(t, err, s)
				}
			}
			assert.NotErrorIs(t, err, ErrTruncated)
			assert.Contains(t, err.Error(), "/lib/ld-musl-x86_64.so.1")
			if tt.msg != "" {
				assert.Contains(t, err.Error(), tt.msg)
			}
		})
	}
	// Without a way to open it, a dynamically linked program is refused.
	_, err := Load(bytes.NewReader(good64().withInterp("/ld").build()), newFakeMem(), Options{Args: []string{"p"}})
	require.ErrorIs(t, err, ErrUnsupported)
	assert.Contains(t, err.Error(), `"/ld"`)
}

// TestInterpName: the path ends at its first NUL (Linux opens that).
func TestInterpName(t *testing.T) {
	data := good64().withInterp("/lib\x00/ld.so").build()
	name, err := Interp(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, "/lib", name)
	long := "/" + strings.Repeat("x", maxInterpLen-2) // with its NUL, PATH_MAX bytes
	name, err = Interp(bytes.NewReader(good64().withInterp(long).with(func(s *synth) { s.size = 0x3000 }).build()))
	require.NoError(t, err)
	assert.Equal(t, long, name)
	name, err = Interp(bytes.NewReader(good64().build()))
	require.NoError(t, err)
	assert.Empty(t, name)
}

// TestGnuStack: PT_GNU_STACK decides whether the stack is executable; an
// i386 program without it gets READ_IMPLIES_EXEC (elf_read_implies_exec),
// an x86-64 one does not.
func TestGnuStack(t *testing.T) {
	for _, tt := range []struct {
		name      string
		s         synth
		flags     elf.ProgFlag
		none      bool // no PT_GNU_STACK
		execStack bool
		rie       bool
	}{
		{"rw 64", good64(), rw, false, false, false},
		{"rwx 64", good64(), rw | elf.PF_X, false, true, false},
		{"none 64", good64(), 0, true, false, false},
		{"rw 32", good32(), rw, false, false, false},
		{"rwx 32", good32(), rw | elf.PF_X, false, true, false},
		{"none 32", good32(), 0, true, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s.with(func(s *synth) {
				if tt.none {
					s.segs = s.segs[:2]
				} else {
					s.segs[2].flags = tt.flags
				}
			})
			// The interpreter's PT_GNU_STACK does not count.
			in := interp64()
			if tt.s.class == elf.ELFCLASS32 {
				in = interp32()
			}
			in = in.with(func(s *synth) { s.segs[2].flags = rw | elf.PF_X })
			data, idata := s.withInterp("/ld").build(), in.build()
			img, mem, err := loadBytes(data, Options{Args: []string{"p"}, OpenInterp: openBytes(idata)})
			require.NoError(t, err)
			assert.Equal(t, tt.execStack, img.ExecStack)
			assert.Equal(t, tt.rie, img.ReadImpliesExec)
			m, ok := mem.mapping(img.SP)
			require.True(t, ok)
			assert.Equal(t, tt.execStack, m.prot&mm.ProtExec != 0, "stack %s", m.prot)
			checkImage(t, data, idata, img, mem)
		})
	}
}

// TestFileMapping loads synthetic files through a FileMapper: the pages
// holding one segment's file data are mapped from the file (and named by
// it) and not copied, unless the bss must be zeroed in them; pages shared
// by segments are copied; the memory reads as when everything is copied.
func TestFileMapping(t *testing.T) {
	shared := good64().with(func(s *synth) { // TestSharedPages's layout
		s.segs = []pseg{
			{typ: elf.PT_LOAD, flags: rx, off: 0, vaddr: 0x400000, filesz: 0x900, memsz: 0x900},
			{typ: elf.PT_LOAD, flags: rw, off: 0xa00, vaddr: 0x400a00, filesz: 0x100, memsz: 0x300},
			{typ: elf.PT_LOAD, flags: ro, off: 0xe00, vaddr: 0x400e00, filesz: 0x100, memsz: 0x100},
			{typ: elf.PT_LOAD, flags: ro, off: 0x1f00, vaddr: 0x401f00, filesz: 0x200, memsz: 0x200},
			{typ: elf.PT_LOAD, flags: rw, off: 0, vaddr: 0x402100, filesz: 0, memsz: 0x2000},
		}
		s.size = 0x2400
	})
	smallBss := good64().with(func(s *synth) { // the bss ends within the last file page
		s.segs[1].memsz = 0x900
	})
	short := good64().with(func(s *synth) { // the file ends within the last page
		s.segs[1].filesz, s.segs[1].memsz = 0x800, 0x800
		s.size = 0x2810
	})
	for _, tt := range []struct {
		name   string
		s      synth
		copied []mm.Addr // pages copied (written) by the loader, the stack's aside
		named  []mm.Addr // pages mapped from the file
	}{
		{"good", good64(), []mm.Addr{0x402000}, []mm.Addr{0x400000, 0x401000, 0x402000}},
		{"small bss", smallBss, []mm.Addr{0x402000}, []mm.Addr{0x400000, 0x401000, 0x402000}},
		{"short file", short, nil, []mm.Addr{0x400000, 0x401000, 0x402000}},
		{"shared pages", shared, []mm.Addr{0x400000, 0x402000}, []mm.Addr{0x401000}},
		{"i386", good32(), []mm.Addr{0x804a000}, []mm.Addr{0x8048000, 0x8049000, 0x804a000}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.s.build()
			opts := Options{Args: []string{"p"}}
			img, mem, err := loadBytes(data, opts)
			require.NoError(t, err)
			f := newMemFile("/bin/p", data)
			fmem := newFileMem()
			fimg, err := Load(f, fmem, opts)
			require.NoError(t, err)
			assert.Equal(t, img, fimg)
			sameMemory(t, mem, fmem.fakeMem)
			checkImage(t, data, nil, fimg, fmem.fakeMem)

			var copied, named []mm.Addr
			for _, m := range fmem.maps {
				if m.name == "[stack]" {
					continue
				}
				for pg := m.ar.Start; pg < m.ar.End; pg += mm.PageSize {
					if fmem.pages[pg] != nil {
						copied = append(copied, pg)
					}
					if m.file != nil {
						named = append(named, pg)
					}
				}
			}
			assert.Equal(t, tt.copied, copied, "pages copied")
			assert.Equal(t, tt.named, named, "pages mapped from the file")
			mappings := 0
			for _, m := range fmem.maps {
				if m.file != nil {
					mappings++
				}
			}
			assert.Equal(t, 1+mappings, f.refs, "each file mapping holds a reference")
		})
	}
}

// TestHostInterp loads /bin/true with its own interpreter from the host,
// then the interpreter run directly (ET_DYN without PT_INTERP, which goes
// below the mmap base with its break at ELF_ET_DYN_BASE).
func TestHostInterp(t *testing.T) {
	const prog = "/bin/true"
	f, err := os.Open(prog)
	if err != nil {
		t.Skipf("%s: %v", prog, err)
	}
	defer f.Close()
	interp, err := Interp(f)
	require.NoError(t, err)
	if interp == "" {
		t.Skipf("%s is statically linked", prog)
	}
	data, err := os.ReadFile(prog)
	require.NoError(t, err)
	idata, err := os.ReadFile(interp)
	if err != nil {
		t.Skipf("interpreter %s: %v", interp, err)
	}
	opts := testOpts(prog)
	opts.OpenInterp = hostInterp(t)
	mem := newFakeMem()
	img, err := Load(f, mem, opts)
	require.NoError(t, err)
	assert.Equal(t, interp, img.Interp)
	checkImage(t, data, idata, img, mem)
	checkStack(t, img, mem, opts)
	fi := parseForTest(t, idata)
	assert.Equal(t, elf.ET_DYN, fi.Type)
	total := mm.Addr(0)
	for _, ph := range fi.Progs {
		if ph.Type == elf.PT_LOAD {
			total = max(total, mm.Addr(ph.Vaddr+ph.Memsz))
		}
	}
	total, _ = total.RoundUp()
	wantBase := MmapBase64 - total
	if img.Class == elf.ELFCLASS32 {
		wantBase = MmapBase32 - total
	}
	assert.Equal(t, wantBase, img.InterpBase)

	// The interpreter as the program: `ld.so /bin/true`.
	opts = testOpts(interp)
	opts.Args = []string{interp, prog}
	mem = newFakeMem()
	img, err = Load(bytes.NewReader(idata), mem, opts)
	require.NoError(t, err)
	assert.Empty(t, img.Interp)
	assert.Equal(t, wantBase, img.LoadBias)
	assert.Equal(t, img.ProgEntry, img.Entry)
	checkImage(t, idata, nil, img, mem)
	checkStack(t, img, mem, opts)
}
