package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadBinaries mutates real programs (testdata/bin, built by the
// setup): the input picks one and patches bytes of its headers and
// program headers. Load must return an error classified by exactly one
// sentinel and map nothing, or an image with a sane stack.
func FuzzLoadBinaries(f *testing.F) {
	var bins [][]byte
	for _, name := range []string{"hello.glibc", "hello.musl", "hello.i386", "hello.i386dyn"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "bin", name))
		if err == nil {
			bins = append(bins, b)
		}
	}
	if len(bins) == 0 {
		f.Skip("no programs in testdata/bin (make guests)")
	}
	for i := range bins {
		f.Add(uint8(i), []byte{})
		f.Add(uint8(i), []byte{0x38, 0x00, 0xff})                   // e_phnum
		f.Add(uint8(i), []byte{0x20, 0x00, 0x80})                   // e_phoff
		f.Add(uint8(i), []byte{0x48, 0x00, 0x10, 0x60, 0x00, 0xff}) // a program header's fields
	}
	f.Fuzz(func(t *testing.T, which uint8, patches []byte) {
		src := bins[int(which)%len(bins)]
		data := bytes.Clone(src)
		// Patches are (offset, value) triples with a 16-bit offset into
		// the first 64 KiB, where the headers live.
		for i := 0; i+3 <= len(patches); i += 3 {
			off := int(binary.LittleEndian.Uint16(patches[i:]))
			if off < len(data) {
				data[off] = patches[i+2]
			}
		}
		mem := newFakeMem()
		opts := Options{Args: []string{"prog"}, Env: []string{"A=1"}, ExecFn: "/bin/prog",
			OpenInterp: func(string) (io.ReaderAt, error) { return nil, os.ErrNotExist }}
		img, err := Load(bytes.NewReader(data), mem, opts)
		if err != nil {
			var ie *InterpError
			if errors.As(err, &ie) {
				return
			}
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 || len(mem.maps) != 0 {
				t.Fatalf("error %q matches %d sentinels, %d mappings left", err, n, len(mem.maps))
			}
			return
		}
		top := StackTop64
		if img.Class == elf.ELFCLASS32 {
			top = StackTop32
		}
		if img.StackRange.End != top || img.SP%16 != 0 || !img.StackRange.Contains(img.SP) {
			t.Fatalf("bad stack: SP %#x in %+v", img.SP, img.StackRange)
		}
		for _, m := range mem.maps {
			if m.ar.Start < MinAddr || m.ar.End > top {
				t.Fatalf("mapping %+v out of bounds", m)
			}
		}
	})
}
