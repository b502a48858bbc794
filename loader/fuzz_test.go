package loader

import (
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/cmaemu/cmaemu/mm"
)

// FuzzLoad checks that Load never panics, that a failure is classified by
// exactly one sentinel and maps nothing, and that a success is sane.
func FuzzLoad(f *testing.F) {
	if _, err := exec.LookPath("gcc"); err == nil {
		dir := f.TempDir()
		for _, v := range []variant{variants[0], variants[1], variants[2]} {
			path := buildC(f, dir, v.name, v.cc, v.flags, testProg)
			b, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b[:4096])
		}
	}
	pie := good64().with(func(s *synth) {
		s.typ = elf.ET_DYN
		s.segs[0].vaddr, s.segs[1].vaddr, s.entry = 0, 0x2010, 0x100
	})
	for _, b := range [][]byte{
		nil,
		[]byte("#!/bin/sh\necho hi\n"),
		[]byte("\x7fELF"),
		good64().build(),
		good32().build(),
		pie.build(),
		good32().with(func(s *synth) { s.machine = elf.EM_ARM }).build(),
		good64().build()[:100],
		good64().with(func(s *synth) { s.phnum = 0xffff }).build(),
		good64().with(func(s *synth) {
			s.segs = append(s.segs, pseg{typ: elf.PT_INTERP, off: 0x200, filesz: 0x10})
		}).build(),
		good64().withInterp("/ld64").build(),
		good32().withInterp("/ld32").build(),
		pie.withInterp("/ld64").build(),
		good64().withInterp("/ld32").build(),
	} {
		f.Add(b)
	}
	interps := map[string][]byte{"/ld64": interp64().build(), "/ld32": interp32().build()}
	opts := Options{Args: []string{"prog", "arg"}, Env: []string{"A=1"}, ExecFn: "/bin/prog",
		OpenInterp: func(name string) (io.ReaderAt, error) {
			if b, ok := interps[name]; ok {
				return bytes.NewReader(b), nil
			}
			return nil, os.ErrNotExist
		}}
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := newFakeMem()
		img, err := Load(bytes.NewReader(data), mem, opts)
		if errors.Is(err, os.ErrNotExist) {
			var ie *InterpError
			if !errors.As(err, &ie) || len(mem.maps) != 0 {
				t.Fatalf("error %q after mapping %v", err, mem.maps)
			}
			return
		}
		if err != nil {
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %q matches %d sentinels", err, n)
			}
			if len(mem.maps) != 0 {
				t.Fatalf("error %q after mapping %v", err, mem.maps)
			}
			return
		}
		if _, err := Check(bytes.NewReader(data)); err != nil {
			t.Fatalf("Load succeeded but Check failed: %v", err)
		}
		top := StackTop64
		if img.Class == elf.ELFCLASS32 {
			top = StackTop32
		}
		if img.StackRange.End != top || img.SP%16 != 0 || !img.StackRange.Contains(img.SP) {
			t.Fatalf("bad stack: SP %#x in %+v", img.SP, img.StackRange)
		}
		if img.Entry >= top || img.BrkStart > top-StackSize || !img.BrkStart.IsPageAligned() {
			t.Fatalf("bad image %+v", img)
		}
		for _, m := range mem.maps {
			if m.ar.Start < MinAddr || m.ar.End > top {
				t.Fatalf("mapping %+v out of bounds", m)
			}
		}
		if _, err := mem.parseStack(img.SP, map[elf.Class]int{elf.ELFCLASS32: 4, elf.ELFCLASS64: 8}[img.Class]); err != nil {
			t.Fatalf("stack: %v", err)
		}
		// Mapped from the file, the memory reads the same (compared when
		// small enough to compare page by page).
		fmem := newFileMem()
		if _, err := Load(newMemFile("/bin/prog", data), fmem, opts); err != nil {
			t.Fatalf("loading from the file: %v", err)
		}
		size := uint64(0)
		for _, m := range mem.maps {
			size += m.ar.Length()
		}
		if size <= 64<<20 {
			sameMemory(t, mem, fmem.fakeMem)
		}
		_ = mm.PageSize
	})
}
