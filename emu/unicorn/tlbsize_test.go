package unicorn

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTLBGrows checks that an engine whose working set is larger than its
// TLB gets a larger one (tlbsize.c): a loop reading one word from each of
// 2048 pages, eight times over, misses a TLB of 256 entries on every
// read unless it grows to at least 2048.
func TestTLBGrows(t *testing.T) {
	v := newVM(t, Mode64)
	const pages = 2048
	assert.Equal(t, 256, v.e.TLBEntries(), "QEMU's initial size")
	start := v.load(vbase+0x1000, []byte{
		0xb9, 0x08, 0x00, 0x00, 0x00, // mov ecx, 8
		0xbe, 0x00, 0x00, 0x50, 0x00, // outer: mov esi, vbase+0x100000
		0xba, 0x00, 0x08, 0x00, 0x00, // mov edx, 2048
		0x48, 0x8b, 0x06, // inner: mov rax, [rsi]
		0x48, 0x81, 0xc6, 0x00, 0x10, 0x00, 0x00, // add rsi, 0x1000
		0xff, 0xca, // dec edx
		0x75, 0xf2, // jnz inner
		0xff, 0xc9, // dec ecx
		0x75, 0xe4, // jnz outer
	}, codeHlt)
	require.NoError(t, v.e.Start(start, 0, 0, 0))
	assert.GreaterOrEqual(t, v.e.TLBEntries(), pages)
	assert.Less(t, len(v.fills), 4*pages, "the last passes hit the TLB")
}
