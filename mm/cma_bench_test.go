package mm

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// cmaBenchPair returns a local and a remote address space with size bytes
// mapped and populated at lRW and rRW in a RAM pool of their own.
func cmaBenchPair(b *testing.B, size int) (local, remote cmaSpace) {
	b.Helper()
	ram, err := NewRAM(uint64(2*size) + 64<<20)
	require.NoError(b, err)
	b.Cleanup(func() { ram.Close() })
	pages := (size + ps - 1) / ps
	local = newCMASpace(b, ram, 2).MapPages(lRW, pages, ProtRead|ProtWrite).Fill(lRW, pages*ps)
	remote = newCMASpace(b, ram, 1).MapPages(rRW, pages, ProtRead|ProtWrite).Fill(rRW, pages*ps)
	return local, remote
}

// BenchmarkCopyBetween measures process_vm_readv and process_vm_writev
// throughput between two populated address spaces (compare MB/s with
// BenchmarkGoCopy64MiB, the memcpy reference).
func BenchmarkCopyBetween(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20, 64 << 20} {
		for _, dir := range []CopyDirection{ReadRemote, WriteRemote} {
			b.Run(fmt.Sprintf("%s/%s", dir, sizeName(size)), func(b *testing.B) {
				local, remote := cmaBenchPair(b, size)
				liov, riov := iov(lRW, uint64(size)), iov(rRW, uint64(size))
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if n, err := CopyBetween(local.MM, liov, remote.MM, riov, CopyOpts{Dir: dir}); n != size || err != nil {
						b.Fatalf("CopyBetween = (%d, %v)", n, err)
					}
				}
			})
		}
	}
}

// BenchmarkCopyBetween64B measures the latency of a small copy.
func BenchmarkCopyBetween64B(b *testing.B) {
	for _, dir := range []CopyDirection{ReadRemote, WriteRemote} {
		b.Run(dir.String(), func(b *testing.B) {
			local, remote := cmaBenchPair(b, ps)
			liov, riov := iov(lRW+100, 64), iov(rRW+200, 64)
			b.SetBytes(64)
			b.ReportAllocs()
			for b.Loop() {
				if n, err := CopyBetween(local.MM, liov, remote.MM, riov, CopyOpts{Dir: dir}); n != 64 || err != nil {
					b.Fatalf("CopyBetween = (%d, %v)", n, err)
				}
			}
		})
	}
}

// BenchmarkGoCopy64MiB is the memcpy reference: Go's copy of one 64 MiB
// slice into another.
func BenchmarkGoCopy64MiB(b *testing.B) {
	const size = 64 << 20
	src, dst := make([]byte, size), make([]byte, size)
	for i := range src {
		src[i] = byte(i)
	}
	copy(dst, src)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		copy(dst, src)
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
