package loader

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/mm"
)

// testProg has initialized data, a large bss and a TLS variable.
const testProg = `
#include <stdio.h>
#include <string.h>
int data_var = 42;
char bss_buf[100000];
__thread int tls_var = 7;
int main(int argc, char **argv) {
	memset(bss_buf, argc, sizeof bss_buf);
	printf("%d %d %s\n", data_var, tls_var, argv[0]);
	return 0;
}
`

// dumpProg prints its initial stack and its maps (for TestNativeLayout).
const dumpProg = `
#include <stdio.h>
int main(int argc, char **argv, char **envp) {
	printf("sp %p\n", (void *)((char *)argv - sizeof(void *)));
	for (int i = 0; i < argc; i++) printf("arg %p\n", (void *)argv[i]);
	char **e = envp;
	for (; *e; e++) printf("env %p\n", (void *)*e);
	unsigned long *a = (unsigned long *)(e + 1);
	for (; a[0]; a += 2) printf("aux %lu %#lx\n", a[0], a[1]);
	FILE *f = fopen("/proc/self/maps", "r");
	char l[512];
	while (f && fgets(l, sizeof l, f)) printf("map %s", l);
	return 0;
}
`

type variant struct {
	name  string
	cc    string
	flags []string
	class elf.Class
	typ   elf.Type
}

var variants = []variant{
	{"gcc-static-64", "gcc", []string{"-static", "-O1"}, elf.ELFCLASS64, elf.ET_EXEC},
	{"gcc-static-32", "gcc", []string{"-m32", "-static", "-O1"}, elf.ELFCLASS32, elf.ET_EXEC},
	{"gcc-static-pie-64", "gcc", []string{"-static-pie", "-O1"}, elf.ELFCLASS64, elf.ET_DYN},
	{"gcc-static-pie-32", "gcc", []string{"-m32", "-static-pie", "-O1"}, elf.ELFCLASS32, elf.ET_DYN},
	{"musl-static-64", "musl-gcc", []string{"-static", "-O1"}, elf.ELFCLASS64, elf.ET_EXEC},
	{"gcc-static-64-noseparate", "gcc", []string{"-static", "-O1", "-Wl,-z,noseparate-code"}, elf.ELFCLASS64, elf.ET_EXEC},
	{"gcc-dynamic-64", "gcc", []string{"-O1"}, elf.ELFCLASS64, elf.ET_DYN},
	{"gcc-dynamic-32", "gcc", []string{"-m32", "-O1"}, elf.ELFCLASS32, elf.ET_DYN},
	{"gcc-dynamic-nopie-64", "gcc", []string{"-O1", "-no-pie"}, elf.ELFCLASS64, elf.ET_EXEC},
	{"gcc-dynamic-nopie-32", "gcc", []string{"-m32", "-O1", "-no-pie"}, elf.ELFCLASS32, elf.ET_EXEC},
	{"musl-dynamic-64", "musl-gcc", []string{"-O1"}, elf.ELFCLASS64, elf.ET_DYN},
}

// hostInterp opens an interpreter on the host, skipping the test if it is
// missing; the files are closed at the end of the test.
func hostInterp(t testing.TB) func(name string) (io.ReaderAt, error) {
	return func(name string) (io.ReaderAt, error) {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			t.Skipf("interpreter %s not installed", name)
		}
		if err == nil {
			t.Cleanup(func() { f.Close() })
		}
		return f, err
	}
}

// buildC compiles src with cc and flags into dir; it skips the test if the
// compiler is missing.
func buildC(t testing.TB, dir, name, cc string, flags []string, src string) string {
	t.Helper()
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("%s not installed", cc)
	}
	c := filepath.Join(dir, name+".c")
	require.NoError(t, os.WriteFile(c, []byte(src), 0o644))
	out := filepath.Join(dir, name)
	args := append(append([]string{}, flags...), "-o", out, c)
	b, err := exec.Command(cc, args...).CombinedOutput()
	require.NoError(t, err, "%s %v: %s", cc, args, b)
	return out
}

func testOpts(path string) Options {
	return Options{
		Args:        []string{path, "hello", "", "wörld with spaces"},
		Env:         []string{"HOME=/root", "PATH=/usr/bin:/bin", "EMPTY="},
		ExecFn:      path,
		UID:         1000,
		EUID:        1000,
		GID:         100,
		EGID:        100,
		Random:      [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		HWCap:       0x178bfbff,
		HWCap2:      2,
		MinSigStkSz: 0xd30,
	}
}

func loadBytes(data []byte, opts Options) (*Image, *fakeMem, error) {
	mem := newFakeMem()
	img, err := Load(bytes.NewReader(data), mem, opts)
	return img, mem, err
}

func TestLoadCompiled(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			path := buildC(t, t.TempDir(), "prog", v.cc, v.flags, testProg)
			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			opts := testOpts(path)
			opts.OpenInterp = hostInterp(t)
			mem := newFakeMem()
			img, err := Load(f, mem, opts)
			require.NoError(t, err)

			ef, err := Check(f)
			require.NoError(t, err)
			assert.Equal(t, v.class, ef.Class)
			assert.Equal(t, v.typ, ef.Type)
			assert.NotEmpty(t, ef.Sections, "debug/elf parsed the sections")
			interp, err := Interp(f)
			require.NoError(t, err)
			assert.Equal(t, interp, img.Interp)
			static := slices.Contains(v.flags, "-static") || slices.Contains(v.flags, "-static-pie")
			assert.Equal(t, static, interp == "", "PT_INTERP %q", interp)

			data, err := os.ReadFile(path)
			require.NoError(t, err)
			var idata []byte
			if interp != "" {
				idata, err = os.ReadFile(interp)
				require.NoError(t, err)
			}
			checkImage(t, data, idata, img, mem)
			checkStack(t, img, mem, opts)
			switch {
			case v.typ == elf.ET_DYN && interp != "":
				want := DynBase64
				if v.class == elf.ELFCLASS32 {
					want = DynBase32
				}
				assert.Equal(t, want, img.LoadBias)
			case v.typ == elf.ET_DYN:
				assert.Equal(t, loaderBase(t, ef, 0), img.LoadBias)
			default:
				assert.Zero(t, img.LoadBias)
			}

			// Mapped from the files, the memory reads the same.
			opts.OpenInterp = func(name string) (io.ReaderAt, error) { return newMemFile(name, idata), nil }
			fmem := newFileMem()
			fimg, err := Load(newMemFile(path, data), fmem, opts)
			require.NoError(t, err)
			assert.Equal(t, img, fimg)
			sameMemory(t, mem, fmem.fakeMem)
			checkImage(t, data, idata, fimg, fmem.fakeMem)
		})
	}
}

// loaderBase returns the load bias of an ET_DYN file run without an
// interpreter (mmapBase 0: Linux's).
func loaderBase(t *testing.T, f *elf.File, mmapBase mm.Addr) mm.Addr {
	t.Helper()
	if mmapBase == 0 {
		mmapBase = MmapBase64
		if f.Class == elf.ELFCLASS32 {
			mmapBase = MmapBase32
		}
	}
	var loads []*elf.Prog
	align := uint64(mm.PageSize)
	for _, ph := range f.Progs {
		if ph.Type == elf.PT_LOAD {
			loads = append(loads, ph)
			if ph.Align&(ph.Align-1) == 0 {
				align = max(align, ph.Align)
			}
		}
	}
	require.NotEmpty(t, loads)
	first, last := loads[0], loads[len(loads)-1]
	total, _ := (mm.Addr(last.Vaddr+last.Memsz) - mm.Addr(first.Vaddr).RoundDown()).RoundUp()
	base := (mmapBase - total) &^ mm.Addr(align-1)
	return (base - mm.Addr(first.Vaddr)).RoundDown()
}

// sameMemory checks that two address spaces map the same pages with the
// same protections and contents.
func sameMemory(t *testing.T, a, b *fakeMem) {
	t.Helper()
	pages := func(m *fakeMem) map[mm.Addr]mm.Prot {
		out := map[mm.Addr]mm.Prot{}
		for _, o := range m.maps {
			for pg := o.ar.Start; pg < o.ar.End; pg += mm.PageSize {
				out[pg] = o.prot
			}
		}
		return out
	}
	pa, pb := pages(a), pages(b)
	require.Equal(t, pa, pb, "mapped pages and protections")
	for pg := range pa {
		x, err := a.read(pg, mm.PageSize)
		require.NoError(t, err)
		y, err := b.read(pg, mm.PageSize)
		require.NoError(t, err)
		require.True(t, bytes.Equal(x, y), "page %#x", pg)
	}
}

// checkImage compares the loaded image with the program's and the
// interpreter's (idata, or nil) program headers, read by debug/elf.
func checkImage(t *testing.T, data, idata []byte, img *Image, mem *fakeMem) {
	t.Helper()
	f := parseForTest(t, data)
	assert.Equal(t, f.Class, img.Class)
	assert.Equal(t, mm.Addr(f.Entry)+img.LoadBias, img.ProgEntry)
	assert.Equal(t, uint64(len(f.Progs)), img.Phnum)
	phent := uint64(56)
	if f.Class == elf.ELFCLASS32 {
		phent = 32
	}
	assert.Equal(t, phent, img.Phent)

	// The program headers are in memory at AT_PHDR.
	var phoff uint64
	if f.Class == elf.ELFCLASS32 {
		phoff = uint64(f.ByteOrder.Uint32(data[28:]))
	} else {
		phoff = f.ByteOrder.Uint64(data[32:])
	}
	got, err := mem.read(img.Phdr, img.Phnum*phent)
	require.NoError(t, err, "program headers at AT_PHDR %#x", img.Phdr)
	assert.Equal(t, data[phoff:phoff+img.Phnum*phent], got, "program headers at AT_PHDR")

	pages, brk := checkSegments(t, f, data, img.LoadBias, mem, img.ReadImpliesExec)
	if f.Type == elf.ET_DYN && img.Interp == "" {
		brk = LoaderBrk64
		if f.Class == elf.ELFCLASS32 {
			brk = LoaderBrk32
		}
	}
	assert.Equal(t, brk, img.BrkStart)
	if idata == nil {
		assert.Equal(t, img.ProgEntry, img.Entry)
		assert.Empty(t, img.Interp)
		assert.Zero(t, img.InterpBase)
	} else {
		fi := parseForTest(t, idata)
		assert.Equal(t, mm.Addr(fi.Entry)+img.InterpBase, img.Entry)
		ipages, iend := checkSegments(t, fi, idata, img.InterpBase, mem, img.ReadImpliesExec)
		assert.Equal(t, iend, img.InterpEnd)
		for pg := range ipages {
			_, dup := pages[pg]
			require.False(t, dup, "page %#x of the program and of the interpreter", pg)
			pages[pg] = true
		}
	}
	// Nothing else is mapped but the stack.
	for _, m := range mem.maps {
		if m.name == "[stack]" {
			continue
		}
		for pg := m.ar.Start; pg < m.ar.End; pg += mm.PageSize {
			require.True(t, pages[pg], "page %#x mapped outside the segments", pg)
		}
	}
}

// parseForTest parses an ELF file with debug/elf, or with Check if its
// section headers are broken.
func parseForTest(t *testing.T, data []byte) *elf.File {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil { // broken section headers
		f, err = Check(bytes.NewReader(data))
	}
	require.NoError(t, err)
	return f
}

// checkSegments checks the PT_LOAD segments of f, loaded with bias: their
// bytes, bss, page heads and protections. It returns the pages they occupy
// and the end of the highest one.
func checkSegments(t *testing.T, f *elf.File, data []byte, bias mm.Addr, mem *fakeMem, rie bool) (map[mm.Addr]bool, mm.Addr) {
	t.Helper()
	// Expected protection of each page: the union over the segments in it.
	pageProt := map[mm.Addr]mm.Prot{}
	var brk mm.Addr
	for _, ph := range f.Progs {
		if ph.Type != elf.PT_LOAD || ph.Memsz == 0 {
			continue
		}
		va := mm.Addr(ph.Vaddr) + bias
		end := va + mm.Addr(ph.Memsz)
		pend, _ := end.RoundUp()
		brk = max(brk, pend)
		for pg := va.RoundDown(); pg < pend; pg += mm.PageSize {
			pageProt[pg] |= protOf(ph.Flags)
			if rie && pageProt[pg]&mm.ProtRead != 0 {
				pageProt[pg] |= mm.ProtExec
			}
		}
	}

	for _, ph := range f.Progs {
		if ph.Type != elf.PT_LOAD || ph.Memsz == 0 {
			continue
		}
		va := mm.Addr(ph.Vaddr) + bias
		got, err := mem.read(va, ph.Filesz)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data[ph.Off:ph.Off+ph.Filesz], got), "file bytes of segment at %#x", va)
		zero, err := mem.isZero(va+mm.Addr(ph.Filesz), ph.Memsz-ph.Filesz)
		require.NoError(t, err)
		assert.True(t, zero, "bss of segment at %#x is zero", va)
		// The page head shows the file bytes before the segment, as Linux's
		// file mapping does.
		if ph.Filesz > 0 {
			h := va.PageOffset()
			got, err := mem.read(va.RoundDown(), h)
			require.NoError(t, err)
			want := bytes.Clone(data[ph.Off-h : ph.Off])
			for i := range want {
				if b, ok := exactByte(f, data, bias, va.RoundDown()+mm.Addr(i)); ok {
					want[i] = b
				}
			}
			assert.True(t, bytes.Equal(want, got), "head of segment at %#x", va)
		}
		pend, _ := (va + mm.Addr(ph.Memsz)).RoundUp()
		for pg := va.RoundDown(); pg < pend; pg += mm.PageSize {
			m, ok := mem.mapping(pg)
			require.True(t, ok, "page %#x mapped", pg)
			assert.Equal(t, pageProt[pg], m.prot, "prot of page %#x", pg)
			if m.file == nil {
				assert.Empty(t, m.name)
			} else {
				// A page from the file shows the file's page there.
				assert.Equal(t, m.file.Name(), m.name)
				assert.Equal(t, uint64(pg-m.ar.Start)+m.off, ph.Off-va.PageOffset()+uint64(pg-va.RoundDown()), "offset of page %#x", pg)
			}
		}
	}
	pages := map[mm.Addr]bool{}
	for pg := range pageProt {
		pages[pg] = true
	}
	return pages, brk
}

// exactByte returns the byte a segment defines at a, if any.
func exactByte(f *elf.File, data []byte, bias, a mm.Addr) (byte, bool) {
	for _, ph := range f.Progs {
		va := mm.Addr(ph.Vaddr) + bias
		if ph.Type != elf.PT_LOAD || a < va || a >= va+mm.Addr(ph.Memsz) {
			continue
		}
		if i := uint64(a - va); i < ph.Filesz {
			return data[ph.Off+i], true
		}
		return 0, true
	}
	return 0, false
}

// wantAuxTypes is the order of the auxiliary vector with MinSigStkSz set.
var wantAuxTypes = []uint64{AT_MINSIGSTKSZ, AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, AT_PHENT, AT_PHNUM,
	AT_BASE, AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE, AT_RANDOM, AT_HWCAP2,
	AT_EXECFN, AT_PLATFORM}

// checkStack parses the initial stack back and compares it with opts.
func checkStack(t *testing.T, img *Image, mem *fakeMem, opts Options) {
	t.Helper()
	ws, top, platform := 8, StackTop64, "x86_64"
	if img.Class == elf.ELFCLASS32 {
		ws, top, platform = 4, StackTop32, "i686"
	}
	assert.Equal(t, mm.AddrRange{Start: top - StackSize, End: top}, img.StackRange)
	m, ok := mem.mapping(top - 1)
	require.True(t, ok)
	assert.Equal(t, img.StackRange, m.ar)
	assert.Equal(t, mm.ProtRead|mm.ProtWrite, m.prot)
	assert.Equal(t, "[stack]", m.name)

	assert.Zero(t, img.SP%16, "SP %#x is 16-byte aligned", img.SP)
	assert.True(t, img.StackRange.Contains(img.SP))
	st, err := mem.parseStack(img.SP, ws)
	require.NoError(t, err)

	args := opts.Args
	if len(args) == 0 {
		args = []string{""}
	}
	assert.Equal(t, uint64(len(args)), st.argc)
	assert.Equal(t, args, st.argv)
	if len(opts.Env) == 0 {
		assert.Empty(t, st.envp)
	} else {
		assert.Equal(t, opts.Env, st.envp)
	}

	var types []uint64
	for _, e := range st.auxv {
		types = append(types, e.Type)
	}
	want := wantAuxTypes
	if opts.MinSigStkSz == 0 {
		want = want[1:]
	}
	assert.Equal(t, want, types)
	assert.Equal(t, st.auxv, img.Auxv)

	execfn := opts.ExecFn
	if execfn == "" && len(opts.Args) > 0 {
		execfn = opts.Args[0]
	}
	secure := uint64(0)
	if opts.UID != opts.EUID || opts.GID != opts.EGID {
		secure = 1
	}
	mask := ^uint64(0)
	if ws == 4 {
		mask = 0xffffffff
	}
	for typ, want := range map[uint64]uint64{
		AT_HWCAP: opts.HWCap & mask, AT_HWCAP2: opts.HWCap2 & mask, AT_PAGESZ: 4096, AT_CLKTCK: 100,
		AT_PHDR: uint64(img.Phdr), AT_PHENT: img.Phent, AT_PHNUM: img.Phnum, AT_BASE: uint64(img.InterpBase) & mask,
		AT_FLAGS: 0, AT_ENTRY: uint64(img.ProgEntry), AT_UID: uint64(opts.UID), AT_EUID: uint64(opts.EUID),
		AT_GID: uint64(opts.GID), AT_EGID: uint64(opts.EGID), AT_SECURE: secure,
	} {
		got, ok := st.aux(typ)
		assert.True(t, ok, "aux %d present", typ)
		assert.Equal(t, want, got, "aux %d", typ)
	}
	if opts.MinSigStkSz != 0 {
		got, _ := st.aux(AT_MINSIGSTKSZ)
		assert.Equal(t, opts.MinSigStkSz, got)
	}
	ra, _ := st.aux(AT_RANDOM)
	rnd, err := mem.read(mm.Addr(ra), 16)
	require.NoError(t, err)
	assert.Equal(t, opts.Random[:], rnd)
	ea, _ := st.aux(AT_EXECFN)
	s, err := mem.cstring(mm.Addr(ea))
	require.NoError(t, err)
	assert.Equal(t, execfn, s)
	pa, _ := st.aux(AT_PLATFORM)
	s, err = mem.cstring(mm.Addr(pa))
	require.NoError(t, err)
	assert.Equal(t, platform, s)

	// Linux's layout of the strings: argv, envp, execfn contiguous, ending
	// one (kernel) pointer below the top; platform and random below.
	p := st.argvAddr[0]
	assert.Equal(t, img.ArgStart, p)
	for i, a := range st.argvAddr {
		assert.Equal(t, p, a, "argv[%d]", i)
		p += mm.Addr(len(st.argv[i]) + 1)
	}
	assert.Equal(t, img.ArgEnd, p)
	assert.Equal(t, img.EnvStart, p)
	for i, a := range st.envpAddr {
		assert.Equal(t, p, a, "envp[%d]", i)
		p += mm.Addr(len(st.envp[i]) + 1)
	}
	assert.Equal(t, img.EnvEnd, p)
	assert.Equal(t, mm.Addr(ea), p, "execfn after the environment")
	assert.Equal(t, top-8, p+mm.Addr(len(execfn)+1), "execfn ends 8 bytes below the top")
	zero, err := mem.isZero(top-8, 8)
	require.NoError(t, err)
	assert.True(t, zero)
	assert.Equal(t, (img.ArgStart&^15)-mm.Addr(len(platform)+1), mm.Addr(pa), "platform below the aligned strings")
	assert.Equal(t, mm.Addr(pa)-16, mm.Addr(ra), "random bytes below the platform")
	// The vector ends right below the random bytes, after rounding down.
	items := len(st.argv) + 1 + len(st.envp) + 1 + 1
	unaligned := mm.Addr(ra) - mm.Addr((len(st.auxv)+1)*2*ws) - mm.Addr(items*ws)
	assert.Equal(t, unaligned&^15, img.SP)
}

func TestStackOptions(t *testing.T) {
	data := good64().build()
	tests := []struct {
		name string
		opts Options
	}{
		{"defaults", Options{}},
		{"no args", Options{Env: []string{"A=1"}, ExecFn: "/bin/x"}},
		{"no env", Options{Args: []string{"prog", "a"}}},
		{"execfn from argv0", Options{Args: []string{"./prog"}, Env: []string{"X=y"}}},
		{"setuid", Options{Args: []string{"p"}, UID: 1000, EUID: 0, GID: 5, EGID: 5}},
		{"setgid", Options{Args: []string{"p"}, UID: 1, EUID: 1, GID: 5, EGID: 0}},
		{"no minsigstksz", Options{Args: []string{"p"}, HWCap: 1<<40 | 3}},
		{"odd lengths", Options{Args: []string{"a", "bb", "ccc"}, Env: []string{"d", "ee", "fff", "gggg"}, ExecFn: "/x/y/zzzzz"}},
		{"many", Options{Args: slices.Repeat([]string{"arg"}, 1000), Env: slices.Repeat([]string{"E=v"}, 1000)}},
	}
	for _, tt := range tests {
		for _, class := range []elf.Class{elf.ELFCLASS64, elf.ELFCLASS32} {
			t.Run(tt.name+"/"+class.String(), func(t *testing.T) {
				d := data
				if class == elf.ELFCLASS32 {
					d = good32().build()
				}
				img, mem, err := loadBytes(d, tt.opts)
				require.NoError(t, err)
				checkStack(t, img, mem, tt.opts)
			})
		}
	}
}

func TestStackNUL(t *testing.T) {
	opts := Options{Args: []string{"a\x00b", "c"}, Env: []string{"X=1\x002"}, ExecFn: "/p\x00q"}
	img, mem, err := loadBytes(good64().build(), opts)
	require.NoError(t, err)
	st, err := mem.parseStack(img.SP, 8)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "c"}, st.argv)
	assert.Equal(t, []string{"X=1"}, st.envp)
	ea, _ := st.aux(AT_EXECFN)
	s, _ := mem.cstring(mm.Addr(ea))
	assert.Equal(t, "/p", s)
}

func TestArgListTooLong(t *testing.T) {
	big := strings.Repeat("x", maxArgStrlen) // with its NUL, one byte too many
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"longest string", Options{Args: []string{big[1:]}}, true},
		{"string too long", Options{Args: []string{big}}, false},
		{"env string too long", Options{Args: []string{"p"}, Env: []string{big}}, false},
		{"execfn too long", Options{Args: []string{"p"}, ExecFn: big}, false},
		{"too much in total", Options{Args: slices.Repeat([]string{big[1:]}, 17)}, false},
		{"too many pointers", Options{Args: make([]string, argLimit/8)}, false},
		{"many small", Options{Args: make([]string, argLimit/16)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, mem, err := loadBytes(good64().build(), tt.opts)
			if tt.ok {
				require.NoError(t, err)
				checkStack(t, img, mem, tt.opts)
				return
			}
			require.ErrorIs(t, err, ErrArgListTooLong)
			assert.Empty(t, mem.maps, "nothing mapped on error")
		})
	}
}

// TestSharedPages loads segments that share pages: the page gets the union
// of the protections, each segment's bytes are exact, and the padding shows
// the neighbouring file bytes.
func TestSharedPages(t *testing.T) {
	s := good64().with(func(s *synth) {
		s.segs = []pseg{
			{typ: elf.PT_LOAD, flags: rx, off: 0, vaddr: 0x400000, filesz: 0x900, memsz: 0x900},
			{typ: elf.PT_LOAD, flags: rw, off: 0xa00, vaddr: 0x400a00, filesz: 0x100, memsz: 0x300},
			{typ: elf.PT_LOAD, flags: ro, off: 0xe00, vaddr: 0x400e00, filesz: 0x100, memsz: 0x100},
			{typ: elf.PT_LOAD, flags: ro, off: 0x1f00, vaddr: 0x401f00, filesz: 0x200, memsz: 0x200},
			{typ: elf.PT_LOAD, flags: rw, off: 0, vaddr: 0x402100, filesz: 0, memsz: 0x2000},
		}
		s.size = 0x2400
	})
	data := s.build()
	img, mem, err := loadBytes(data, Options{Args: []string{"p"}})
	require.NoError(t, err)
	checkImage(t, data, nil, img, mem)

	var got []fakeMapping
	for _, m := range mem.maps {
		if m.name == "" {
			got = append(got, m)
		}
	}
	require.Len(t, got, 3)
	assert.Equal(t, fakeMapping{ar: mm.AddrRange{Start: 0x400000, End: 0x401000}, prot: mm.ProtRead | mm.ProtWrite | mm.ProtExec}, got[0])
	assert.Equal(t, fakeMapping{ar: mm.AddrRange{Start: 0x401000, End: 0x402000}, prot: mm.ProtRead}, got[1])
	// 0x402000 is shared by the read-only segment and the bss-only one.
	assert.Equal(t, fakeMapping{ar: mm.AddrRange{Start: 0x402000, End: 0x405000}, prot: mm.ProtRead | mm.ProtWrite}, got[2])

	page, err := mem.read(0x400000, 0x1000)
	require.NoError(t, err)
	assert.Equal(t, data[:0xb00], page[:0xb00], "text, padding, data")
	assert.Equal(t, make([]byte, 0x200), page[0xb00:0xd00], "bss of the data segment")
	assert.Equal(t, data[0xd00:0x1000], page[0xd00:], "padding, rodata, file tail")
	page, err = mem.read(0x402000, 0x3000)
	require.NoError(t, err)
	assert.Equal(t, data[0x2000:0x2100], page[:0x100], "rodata end")
	assert.Equal(t, make([]byte, 0x2f00), page[0x100:], "bss-only segment and end of the file")
	assert.Equal(t, mm.Addr(0x405000), img.BrkStart)
}

// TestDynPlacement: a PIE goes at ELF_ET_DYN_BASE, an ET_DYN file without
// an interpreter (a static-pie, ld.so run directly) top-down below the
// mmap base; both aligned down to their largest power-of-two p_align.
func TestDynPlacement(t *testing.T) {
	for _, tt := range []struct {
		class    elf.Class
		align    uint64
		first    uint64
		pie      bool    // with PT_INTERP
		mmapBase mm.Addr // Options.MmapBase
		base     mm.Addr // bias + first
	}{
		{elf.ELFCLASS64, 0x1000, 0, true, 0, 0x555555554000},
		{elf.ELFCLASS64, 0x200000, 0, true, 0, 0x555555400000},
		{elf.ELFCLASS64, 0x3000, 0, true, 0, 0x555555554000}, // not a power of two: ignored
		{elf.ELFCLASS64, 0x1000, 0x10000, true, 0, 0x555555554000},
		{elf.ELFCLASS64, 0x1000, 0x7ff000000000, true, 0, 0x555555554000},
		{elf.ELFCLASS32, 0x1000, 0, true, 0, 0x56555000},
		{elf.ELFCLASS32, 0x1000, 0x60000000, true, 0, 0x56555000},
		{elf.ELFCLASS32, 0x10000, 0x60000000, true, 0, 0x56550000},
		// The segments span 0x5010 bytes: 6 pages below the mmap base.
		{elf.ELFCLASS64, 0x1000, 0, false, 0, 0x7ffff7ff9000},
		{elf.ELFCLASS64, 0x200000, 0, false, 0, 0x7ffff7e00000},
		{elf.ELFCLASS64, 0x3000, 0, false, 0, 0x7ffff7ff9000},
		{elf.ELFCLASS64, 0x1000, 0x10000, false, 0, 0x7ffff7ff9000},
		{elf.ELFCLASS64, 0x1000, 0x7ff000000000, false, 0, 0x7ffff7ff9000},
		{elf.ELFCLASS64, 0x1000, 0, false, 0x7f0000000000, 0x7effffffa000},
		{elf.ELFCLASS32, 0x1000, 0, false, 0, 0xf7ff8000},
		{elf.ELFCLASS32, 0x1000, 0x60000000, false, 0, 0xf7ff8000},
		{elf.ELFCLASS32, 0x10000, 0x60000000, false, 0, 0xf7ff0000},
		{elf.ELFCLASS32, 0x1000, 0, false, 0xf7fff000, 0xf7ff9000},
	} {
		s, phoff, in := good64(), mm.Addr(64), interp64()
		if tt.class == elf.ELFCLASS32 {
			s, phoff, in = good32(), 52, interp32()
		}
		s = s.with(func(s *synth) {
			s.typ = elf.ET_DYN
			s.entry = tt.first + 0x100
			s.segs[0].vaddr, s.segs[0].align = tt.first, tt.align
			s.segs[1].vaddr, s.segs[1].align = tt.first+0x2010, tt.align
		})
		var idata []byte
		if tt.pie {
			s = s.withInterp("/lib/ld.so")
			idata = in.build()
		}
		data := s.build()
		opts := Options{Args: []string{"p"}, MmapBase: tt.mmapBase, OpenInterp: openBytes(idata)}
		img, mem, err := loadBytes(data, opts)
		require.NoError(t, err, "%+v", tt)
		assert.Equal(t, tt.base, img.LoadBias+mm.Addr(tt.first), "%+v", tt)
		assert.Equal(t, tt.base+0x100, img.ProgEntry, "%+v", tt)
		assert.Equal(t, tt.base+phoff, img.Phdr, "%+v", tt)
		checkImage(t, data, idata, img, mem)
		checkStack(t, img, mem, opts)
	}
}

// TestBrokenSections: the kernel ignores section headers, so does Load.
func TestBrokenSections(t *testing.T) {
	s := good64()
	s.patch = func(b []byte) {
		// e_shoff beyond the end of the file, e_shnum 5, e_shentsize 64.
		copy(b[40:48], []byte{0, 0, 0, 0x10, 0, 0, 0, 0})
		b[58], b[60], b[62] = 64, 5, 4
	}
	data := s.build()
	_, err := elf.NewFile(bytes.NewReader(data))
	require.Error(t, err, "debug/elf rejects the file")
	img, mem, err := loadBytes(data, Options{Args: []string{"p"}})
	require.NoError(t, err)
	checkImage(t, data, nil, img, mem)
}

// TestPhdrFromPTPHDR: without a PT_LOAD mapping the headers, AT_PHDR comes
// from PT_PHDR.
func TestPhdrFromPTPHDR(t *testing.T) {
	s := good64().with(func(s *synth) {
		s.phoff = 0x2900 // in the file, beyond the first segment's file data
		s.segs[0].filesz, s.segs[0].memsz = 0x100, 0x100
		s.segs[1].filesz = 0x100
		s.segs = append(s.segs, pseg{typ: elf.PT_PHDR, flags: ro, vaddr: 0x400040})
		s.size = 0x3000
	})
	img, _, err := loadBytes(s.build(), Options{Args: []string{"p"}})
	require.NoError(t, err)
	assert.Equal(t, mm.Addr(0x400040), img.Phdr)
}

// TestSizeProbe loads through a ReaderAt without Size or Stat methods.
func TestSizeProbe(t *testing.T) {
	data := good64().build()
	for _, n := range []int{0, 1, 2, 3, 7, 8, 100, 4096, 12287, 12288} {
		sz, err := fileSize(plainReader{bytes.NewReader(data[:min(n, len(data))])})
		require.NoError(t, err)
		assert.Equal(t, int64(min(n, len(data))), sz)
	}
	mem := newFakeMem()
	img, err := Load(plainReader{bytes.NewReader(data)}, mem, Options{Args: []string{"p"}})
	require.NoError(t, err)
	checkImage(t, data, nil, img, mem)
}

type plainReader struct{ r *bytes.Reader }

func (p plainReader) ReadAt(b []byte, off int64) (int, error) { return p.r.ReadAt(b, off) }

// errorReader fails every read.
type errorReader struct{}

var errDisk = errors.New("disk on fire")

func (errorReader) ReadAt([]byte, int64) (int, error) { return 0, errDisk }

func TestIOError(t *testing.T) {
	_, err := Check(errorReader{})
	require.ErrorIs(t, err, errDisk)
	assert.NotErrorIs(t, err, ErrNotELF)
}

// sentinels are the classes of bad executables: exactly one matches.
var sentinels = []error{ErrNotELF, ErrWrongArch, ErrUnsupported, ErrBadELF, ErrBadInterp}

func TestErrors(t *testing.T) {
	real64 := func(t *testing.T) []byte {
		path := buildC(t, t.TempDir(), "prog", "gcc", []string{"-static", "-O1"}, testProg)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		return b
	}
	lit := func(b []byte) func(*testing.T) []byte { return func(*testing.T) []byte { return b } }
	syn := func(s synth) func(*testing.T) []byte { return lit(s.build()) }
	seg := func(f func(s *synth)) func(*testing.T) []byte { return syn(good64().with(f)) }
	seg32 := func(f func(s *synth)) func(*testing.T) []byte { return syn(good32().with(f)) }
	arm := good32().with(func(s *synth) { s.machine = elf.EM_ARM })

	tests := []struct {
		name  string
		data  func(t *testing.T) []byte
		want  error
		trunc bool
		msg   string
	}{
		{name: "empty", data: lit(nil), want: ErrNotELF},
		{name: "script", data: lit([]byte("#!/bin/sh\necho hi\n")), want: ErrNotELF},
		{name: "short magic", data: lit([]byte("\x7fEL")), want: ErrNotELF},
		{name: "text", data: lit([]byte("hello world, this is not an ELF file at all, but it is long enough\n")), want: ErrNotELF},
		{name: "ident only", data: lit([]byte("\x7fELF\x02\x01\x01")), want: ErrBadELF, trunc: true},
		{name: "arm", data: syn(arm), want: ErrWrongArch, msg: "ARM"},
		{name: "arm header only", data: lit(arm.build()[:52]), want: ErrWrongArch},
		{name: "aarch64", data: seg(func(s *synth) { s.machine = elf.EM_AARCH64 }), want: ErrWrongArch},
		{name: "big endian", data: seg(func(s *synth) { s.data = elf.ELFDATA2MSB }), want: ErrWrongArch},
		{name: "x32", data: seg32(func(s *synth) { s.machine = elf.EM_X86_64 }), want: ErrWrongArch},
		{name: "i386 class 64", data: seg(func(s *synth) { s.machine = elf.EM_386 }), want: ErrWrongArch},
		{name: "class none", data: seg(func(s *synth) { s.class = elf.ELFCLASSNONE }), want: ErrWrongArch},
		{name: "header truncated", data: lit(good64().build()[:40]), want: ErrBadELF, trunc: true},
		{name: "first 100 bytes", data: func(t *testing.T) []byte { return real64(t)[:100] }, want: ErrBadELF, trunc: true},
		{name: "half a binary", data: func(t *testing.T) []byte { b := real64(t); return b[:len(b)/2] }, want: ErrBadELF, trunc: true},
		{name: "first 4KiB", data: func(t *testing.T) []byte { return real64(t)[:4096] }, want: ErrBadELF, trunc: true},
		// PT_INTERP as load_elf_binary reads it: ENOEXEC for these.
		{name: "interp not NUL-terminated", data: seg(func(s *synth) {
			s.segs = append(s.segs, pseg{typ: elf.PT_INTERP, off: 0x200, filesz: 0x10})
			s.patch = func(b []byte) { copy(b[0x200:], "/lib/ld.so\x00") }
		}), want: ErrBadELF, msg: "not NUL-terminated"},
		{name: "interp beyond eof", data: seg(func(s *synth) {
			s.segs = append(s.segs, pseg{typ: elf.PT_INTERP, off: 0x10000, filesz: 0x10})
		}), want: ErrBadELF, trunc: true},
		{name: "interp offset overflow", data: seg(func(s *synth) {
			s.segs = append(s.segs, pseg{typ: elf.PT_INTERP, off: ^uint64(0) - 4, filesz: 0x10})
		}), want: ErrBadELF},
		{name: "interp one byte", data: seg(func(s *synth) {
			s.segs = append(s.segs, pseg{typ: elf.PT_INTERP, off: 0x200, filesz: 1})
			s.patch = func(b []byte) { b[0x200] = 0 }
		}), want: ErrBadELF, msg: "PT_INTERP of 1 bytes"},
		{name: "interp empty", data: seg(func(s *synth) {
			s.segs = append(s.segs, pseg{typ: elf.PT_INTERP, off: 0x200})
		}), want: ErrBadELF},
		{name: "interp longer than PATH_MAX", data: seg(func(s *synth) {
			s.segs = append(s.segs, pseg{typ: elf.PT_INTERP, off: 0x200, filesz: 4097})
			s.patch = func(b []byte) { clear(b[0x200 : 0x200+4097]) }
		}), want: ErrBadELF, msg: "PT_INTERP of 4097 bytes"},
		{name: "phnum huge", data: seg(func(s *synth) { s.phnum = 0xffff }), want: ErrBadELF},
		{name: "phnum 74", data: seg(func(s *synth) { s.phnum = 74 }), want: ErrBadELF},
		{name: "phnum zero", data: seg(func(s *synth) { s.segs = nil; s.phnum = 0 }), want: ErrBadELF},
		{name: "phentsize", data: seg(func(s *synth) { s.phentsize = 64 }), want: ErrBadELF},
		{name: "phoff beyond eof", data: seg(func(s *synth) { s.phoff = 1 << 40 }), want: ErrBadELF, trunc: true},
		{name: "phoff overflow", data: seg(func(s *synth) { s.phoff = ^uint64(0) - 8 }), want: ErrBadELF, trunc: true},
		{name: "relocatable", data: seg(func(s *synth) { s.typ = elf.ET_REL }), want: ErrBadELF},
		{name: "core", data: seg(func(s *synth) { s.typ = elf.ET_CORE }), want: ErrBadELF},
		{name: "no PT_LOAD", data: seg(func(s *synth) { s.segs = s.segs[2:] }), want: ErrBadELF},
		{name: "filesz > memsz", data: seg(func(s *synth) { s.segs[1].memsz = 0x10 }), want: ErrBadELF},
		{name: "filesz beyond eof", data: seg(func(s *synth) { s.segs[1].filesz, s.segs[1].memsz = 1<<40, 1<<40 }), want: ErrBadELF, trunc: true},
		{name: "offset beyond eof", data: seg(func(s *synth) { s.segs[1].off = 0x100010 }), want: ErrBadELF, trunc: true},
		{name: "offset overflow", data: seg(func(s *synth) { s.segs[1].off = ^uint64(0) - 0xfef }), want: ErrBadELF},
		{name: "memsz huge", data: seg(func(s *synth) { s.segs[1].memsz = 1 << 47 }), want: ErrBadELF},
		{name: "memsz overflow", data: seg(func(s *synth) { s.segs[1].memsz = ^uint64(0) }), want: ErrBadELF},
		{name: "vaddr above TaskSize", data: seg(func(s *synth) { s.segs[1].vaddr = 0x800000000010 }), want: ErrBadELF},
		{name: "vaddr at top", data: seg(func(s *synth) { s.segs[1].vaddr = 0xfffffffffffff010 }), want: ErrBadELF},
		{name: "in the stack", data: seg(func(s *synth) { s.segs[1].vaddr = 0x7ffffff00010 }), want: ErrBadELF},
		{name: "below mmap_min_addr", data: seg(func(s *synth) { s.segs[0].vaddr = 0x1000 }), want: ErrBadELF},
		{name: "overlap", data: seg(func(s *synth) { s.segs[1].vaddr = 0x401010 }), want: ErrBadELF},
		{name: "overlap unsorted", data: seg(func(s *synth) {
			s.segs[0], s.segs[1] = s.segs[1], s.segs[0]
			s.segs[0].vaddr = 0x400010
		}), want: ErrBadELF},
		{name: "offset not congruent", data: seg(func(s *synth) { s.segs[1].off = 0x2018 }), want: ErrBadELF},
		{name: "entry beyond", data: seg(func(s *synth) { s.entry = 1 << 50 }), want: ErrBadELF},
		{name: "i386 above 4GiB", data: seg32(func(s *synth) { s.segs[1].memsz = 0xfffff000 }), want: ErrBadELF},
		{name: "i386 above stack top", data: seg32(func(s *synth) { s.segs[1].vaddr = 0xffffe010 }), want: ErrBadELF},
		{name: "i386 in the stack", data: seg32(func(s *synth) { s.segs[1].vaddr = 0xfffd0010 }), want: ErrBadELF},
		{name: "i386 pie entry below base", data: syn(good32().withInterp("/lib/ld.so").with(func(s *synth) {
			s.typ = elf.ET_DYN
			s.segs[0].vaddr, s.segs[1].vaddr = 0x60000000, 0x60002010
			s.entry = 0x100
		})), want: ErrBadELF},
		{name: "static-pie too large for the mmap area", data: seg(func(s *synth) {
			s.typ = elf.ET_DYN
			s.segs[0].vaddr, s.segs[1].vaddr, s.entry = 0, 0x7ffff7ff0010, 0x100
		}), want: ErrBadELF, msg: "do not fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data(t)
			_, err := Check(bytes.NewReader(data))
			require.Error(t, err)
			t.Log(err)
			require.ErrorIs(t, err, tt.want)
			for _, s := range sentinels {
				if s != tt.want {
					assert.NotErrorIs(t, err, s)
				}
			}
			assert.Equal(t, tt.trunc, errors.Is(err, ErrTruncated), "ErrTruncated")
			if tt.want == ErrBadELF {
				var fe *FormatError
				assert.ErrorAs(t, err, &fe)
			}
			if tt.msg != "" {
				assert.Contains(t, err.Error(), tt.msg)
			}
			img, mem, lerr := loadBytes(data, testOpts("/bin/p"))
			assert.Nil(t, img)
			assert.Equal(t, err, lerr)
			assert.Empty(t, mem.maps, "nothing mapped on error")
		})
	}
}

// memErr fails mappings after some calls.
type memErr struct {
	*fakeMem
	mapsLeft, writesLeft int
}

var errNoMem = errors.New("out of memory")

func (m *memErr) MapAnon(ar mm.AddrRange, prot mm.Prot, name string) error {
	if m.mapsLeft == 0 {
		return errNoMem
	}
	m.mapsLeft--
	return m.fakeMem.MapAnon(ar, prot, name)
}

func (m *memErr) WriteForce(addr mm.Addr, data []byte) error {
	if m.writesLeft == 0 {
		return errNoMem
	}
	m.writesLeft--
	return m.fakeMem.WriteForce(addr, data)
}

func TestMemoryErrors(t *testing.T) {
	data := good64().build()
	for _, tt := range []struct{ maps, writes int }{{0, 100}, {1, 100}, {2, 100}, {2, 0}, {2, 1}, {2, 3}, {2, 4}, {2, 5}, {3, 5}} {
		_, err := Load(bytes.NewReader(data), &memErr{newFakeMem(), tt.maps, tt.writes}, Options{Args: []string{"p"}})
		require.ErrorIs(t, err, errNoMem, "%+v", tt)
		for _, s := range sentinels {
			assert.NotErrorIs(t, err, s)
		}
	}
}

// TestNativeLayout runs a program natively without randomization and
// compares the stack layout the kernel built with Load's.
func TestNativeLayout(t *testing.T) {
	setarch, err := exec.LookPath("setarch")
	if err != nil {
		t.Skip("setarch not installed")
	}
	for _, v := range variants {
		switch v.name {
		case "gcc-static-64", "gcc-static-32", "gcc-static-pie-64", "gcc-static-pie-32", "gcc-dynamic-64", "gcc-dynamic-32", "gcc-dynamic-nopie-64":
		default:
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			path := buildC(t, t.TempDir(), "dump", v.cc, v.flags, dumpProg)
			args := []string{path, "x", "yy", ""}
			env := []string{"A=1", "B=hello world"}
			cmd := exec.Command(setarch, append([]string{"-R"}, args...)...)
			cmd.Env = env
			out, err := cmd.Output()
			if err != nil {
				t.Skipf("cannot run natively without randomization: %v", err)
			}
			var sp uint64
			var argAddrs, envAddrs []uint64
			aux := map[uint64]uint64{}
			nAux := 1 // AT_NULL
			var heap uint64
			sc := bufio.NewScanner(bytes.NewReader(out))
			num := func(s string) uint64 {
				n, err := strconv.ParseUint(s, 0, 64)
				require.NoError(t, err, s)
				return n
			}
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				switch f[0] {
				case "sp":
					sp = num(f[1])
				case "arg":
					argAddrs = append(argAddrs, num(f[1]))
				case "env":
					envAddrs = append(envAddrs, num(f[1]))
				case "aux":
					aux[num(f[1])] = num(f[2])
					nAux++
				case "map":
					if f[len(f)-1] == "[heap]" {
						heap = num("0x" + strings.Split(f[1], "-")[0])
					}
				}
			}
			if aux[AT_ENTRY] == 0 || aux[AT_RANDOM] == 0 {
				t.Skipf("unexpected output: %s", out)
			}

			opts := Options{Args: args, Env: env, ExecFn: path, Random: [16]byte{1}, MinSigStkSz: aux[AT_MINSIGSTKSZ],
				OpenInterp: hostInterp(t)}
			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			mem := newFakeMem()
			img, err := Load(f, mem, opts)
			require.NoError(t, err)
			st, err := mem.parseStack(img.SP, map[elf.Class]int{elf.ELFCLASS32: 4, elf.ELFCLASS64: 8}[img.Class])
			require.NoError(t, err)

			toU := func(a []mm.Addr) []uint64 {
				var r []uint64
				for _, x := range a {
					r = append(r, uint64(x))
				}
				return r
			}
			assert.Equal(t, argAddrs, toU(st.argvAddr), "argv string addresses")
			assert.Equal(t, envAddrs, toU(st.envpAddr), "envp string addresses")
			// AT_BASE too: the kernel maps the interpreter before the vDSO.
			for _, typ := range []uint64{AT_EXECFN, AT_PLATFORM, AT_RANDOM, AT_PHDR, AT_PHENT, AT_PHNUM, AT_ENTRY, AT_PAGESZ, AT_CLKTCK, AT_MINSIGSTKSZ, AT_BASE} {
				got, _ := st.aux(typ)
				assert.Equal(t, aux[typ], got, "aux %d", typ)
			}
			// The kernel's vector has more entries (vDSO, rseq); with its
			// count, Load's formula gives the kernel's SP.
			ws := uint64(8)
			if img.Class == elf.ELFCLASS32 {
				ws = 4
			}
			items := uint64(len(args)+1+len(env)+1+1) * ws
			assert.Equal(t, sp, (aux[AT_RANDOM]-uint64(nAux)*2*ws-items)&^15, "native SP")
			if heap != 0 {
				assert.Equal(t, uint64(img.BrkStart), heap, "brk start")
			}
		})
	}
}
