package mm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

func TestMapRespectsASLimit(t *testing.T) {
	_, m := newTestMM(t)
	mapAt(t, m, 0x100000, 4, ProtRead)
	limit := uint64(10*PageSize + 100) // 10 pages: the limit rounds down
	_, err := m.Map(MapOpts{Length: 6 * PageSize, Prot: ProtRead, Limits: Limits{AS: limit}})
	require.NoError(t, err)
	_, err = m.Map(MapOpts{Length: PageSize, Prot: ProtRead, Limits: Limits{AS: limit}})
	assert.ErrorIs(t, err, linux.ENOMEM)
	// MAP_FIXED over mapped pages counts only what it adds.
	_, err = m.Map(MapOpts{Addr: 0x100000, Length: 4 * PageSize, Prot: ProtWrite, Fixed: true, Limits: Limits{AS: limit}})
	require.NoError(t, err)
	_, err = m.Map(MapOpts{Addr: 0x100000, Length: 5 * PageSize, Prot: ProtWrite, Fixed: true, Limits: Limits{AS: limit}})
	assert.ErrorIs(t, err, linux.ENOMEM)
	assert.True(t, m.Covered(0x100000, 4*PageSize), "the failed MAP_FIXED left the old mapping")

	m.SetBrk(0x200000)
	assert.Equal(t, Addr(0x200000), m.BrkLimit(0x201000, Limits{AS: limit}), "no room for the heap")
	m.Unmap(0x100000, 4*PageSize)
	assert.Equal(t, Addr(0x201000), m.BrkLimit(0x201000, Limits{AS: limit}))

	_, err = m.RemapLimit(0x200000, PageSize, 5*PageSize, true, false, 0, Limits{AS: limit})
	assert.ErrorIs(t, err, linux.ENOMEM)
	got, err := m.RemapLimit(0x200000, PageSize, 4*PageSize, true, false, 0, Limits{AS: limit})
	require.NoError(t, err)
	assert.Equal(t, Addr(0x200000), got)
}

func TestDataLimit(t *testing.T) {
	_, m := newTestMM(t)
	l := Limits{Data: 4*PageSize + 100, Break: 4*PageSize + 100} // 4 pages
	var last Addr
	for _, tc := range []struct {
		name string
		opts MapOpts
		err  error
	}{
		{"private writable counts", MapOpts{Length: 3 * PageSize, Prot: ProtRead | ProtWrite}, nil},
		{"read-only is not data", MapOpts{Length: 8 * PageSize, Prot: ProtRead}, nil},
		{"shared is not data", MapOpts{Length: 8 * PageSize, Prot: ProtRead | ProtWrite, Shared: true}, nil},
		{"beyond the limit", MapOpts{Length: 2 * PageSize, Prot: ProtRead | ProtWrite}, linux.ENOMEM},
		{"up to the limit", MapOpts{Length: PageSize, Prot: ProtRead | ProtWrite}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Limits = l
			at, err := m.Map(tc.opts)
			last = at
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
			} else {
				assert.NoError(t, err)
			}
		})
	}

	// mprotect to writable turns read-only memory into data: refused
	// at the limit, with the VMAs before the refused one changed.
	mapAt(t, m, 0x300000, 2, ProtRead)
	assert.ErrorIs(t, m.ProtectLimit(0x300000, 2*PageSize, ProtRead|ProtWrite, l), linux.ENOMEM)
	require.NoError(t, m.Unmap(last, PageSize)) // a page of data is given back
	require.NoError(t, m.ProtectLimit(0x300000, PageSize, ProtRead|ProtWrite, l), "one page fits again")

	// The break counts the heap with the data segment.
	_, m2 := newTestMM(t)
	m2.SetBrk(0x200000)
	m2.SetDataSegment(0x100000, 0x101000)
	lb := Limits{Break: 3 * PageSize}
	assert.Equal(t, Addr(0x202000), m2.BrkLimit(0x202000, lb), "2 heap pages + 1 data page fit")
	assert.Equal(t, Addr(0x202000), m2.BrkLimit(0x202001, lb), "one byte more does not")
}

func TestMaxMapCount(t *testing.T) {
	_, m := newTestMM(t)
	var last Addr
	n := 0
	for ; ; n++ {
		a, err := m.Map(MapOpts{Length: PageSize, Prot: [2]Prot{ProtRead, ProtWrite}[n&1]})
		if err != nil {
			require.ErrorIs(t, err, linux.ENOMEM)
			break
		}
		last = a
	}
	assert.Equal(t, MaxMapCount+1, len(m.VMAs()), "mmap is refused once the count is above the limit")
	// Unmapping a whole VMA is allowed; punching a hole is not.
	require.NoError(t, m.Unmap(last, PageSize))
	mapAt(t, m, 0x10000000, 3, ProtRead|ProtWrite)
	assert.ErrorIs(t, m.Unmap(0x10001000, PageSize), linux.ENOMEM)
	assert.ErrorIs(t, m.Protect(0x10001000, PageSize, ProtRead), linux.ENOMEM)
	assert.ErrorIs(t, m.Protect(0x10000000, PageSize, ProtRead), linux.ENOMEM)
	require.NoError(t, m.Unmap(0x10000000, PageSize))
	require.NoError(t, m.Protect(0x10001000, 2*PageSize, ProtRead), "a change of a whole VMA needs no split")
}

// The free-space search that starts below its last result finds what a
// search from the top finds: the highest gap that fits.
func TestFindFreeIsHighestGap(t *testing.T) {
	_, m := newTestMM(t)
	var addrs []Addr
	for i := 0; i < 64; i++ {
		a, err := m.Map(MapOpts{Length: PageSize, Prot: [2]Prot{ProtRead, ProtWrite}[i&1]})
		require.NoError(t, err)
		if i > 0 {
			require.Equal(t, addrs[i-1]-PageSize, a)
		}
		addrs = append(addrs, a)
	}
	require.NoError(t, m.Unmap(addrs[10], PageSize))
	require.NoError(t, m.Unmap(addrs[40], PageSize))
	a, err := m.Map(MapOpts{Length: PageSize, Prot: ProtExec})
	require.NoError(t, err)
	assert.Equal(t, addrs[10], a, "the highest hole")
	a, err = m.Map(MapOpts{Length: 2 * PageSize, Prot: ProtExec})
	require.NoError(t, err)
	assert.Equal(t, addrs[63]-2*PageSize, a, "no hole fits two pages")
	a, err = m.Map(MapOpts{Length: PageSize, Prot: ProtExec})
	require.NoError(t, err)
	assert.Equal(t, addrs[40], a)
	require.NoError(t, m.Unmap(addrs[6], 2*PageSize)) // addrs[6] and addrs[5]
	a, err = m.Map(MapOpts{Length: 2 * PageSize, Prot: ProtExec})
	require.NoError(t, err)
	assert.Equal(t, addrs[6], a)
}
