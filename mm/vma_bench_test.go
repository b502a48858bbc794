package mm

import (
	"fmt"
	"testing"
)

// mapPages maps n page-sized anonymous mappings where the kernel places
// them (top-down, one below the other), alternating the protection so
// that none merge, and returns their addresses.
func mapPages(b *testing.B, m *MM, n int) []Addr {
	prots := [2]Prot{ProtRead, ProtRead | ProtWrite}
	addrs := make([]Addr, n)
	for i := range addrs {
		a, err := m.Map(MapOpts{Length: PageSize, Prot: prots[i&1]})
		if err != nil {
			b.Fatal(err)
		}
		addrs[i] = a
	}
	return addrs
}

// BenchmarkMapMany maps n page-sized mappings that do not merge into an
// empty address space, as a program that maps many small areas does;
// ns/map is the cost of one mmap averaged over the n.
func BenchmarkMapMany(b *testing.B) {
	for _, n := range []int{1000, 10000, 60000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ram, err := NewRAM(testRAM)
			if err != nil {
				b.Fatal(err)
			}
			defer ram.Close()
			for i := 0; i < b.N; i++ {
				m, err := New(ram, Layout64)
				if err != nil {
					b.Fatal(err)
				}
				mapPages(b, m, n)
				m.Release()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/map")
		})
	}
}

// BenchmarkMapUnmapAmong maps and unmaps one page in an address space
// that holds n mappings (and unmaps one of those in the middle first,
// so the gap it leaves is found again).
func BenchmarkMapUnmapAmong(b *testing.B) {
	for _, n := range []int{1000, 10000, 60000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			_, m := newTestMM(b)
			addrs := mapPages(b, m, n)
			if err := m.Unmap(addrs[n/2], PageSize); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				a, err := m.Map(MapOpts{Length: PageSize, Prot: ProtExec})
				if err != nil {
					b.Fatal(err)
				}
				if err := m.Unmap(a, PageSize); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFindVMA looks up the VMA of an address among 60000.
func BenchmarkFindVMA(b *testing.B) {
	_, m := newTestMM(b)
	addrs := mapPages(b, m, 60000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := m.FindVMA(addrs[i%len(addrs)]); !ok {
			b.Fatal("not found")
		}
	}
}
