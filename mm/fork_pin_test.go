package mm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestForkCopiesPinnedPages: a private page pinned for a write the kernel
// has not made yet (a blocked read) stays the parent's, writable, at fork;
// the child gets a copy. The write lands in the parent's page.
func TestForkCopiesPinnedPages(t *testing.T) {
	ram, parent := newTestMM(t)
	mapAt(t, parent, 0xb00000, 2, ProtRead|ProtWrite)
	_, err := parent.CopyOut(0xb00000, []byte("before"))
	require.NoError(t, err)
	_, err = parent.CopyOut(0xb01000, []byte("other"))
	require.NoError(t, err)

	bufs, unpin, err := parent.Buffers(nil, 0xb00000, 6, Write)
	require.NoError(t, err)
	pinned := parent.Walk(0xb00000).Leaf.Frame()
	assert.True(t, ram.Pinned(pinned))

	child, err := parent.Fork()
	require.NoError(t, err)
	defer child.Release()
	pw, cw := parent.Walk(0xb00000), child.Walk(0xb00000)
	assert.Equal(t, pinned, pw.Leaf.Frame(), "the parent keeps the pinned page")
	assert.NotZero(t, pw.Leaf&PTEWrite, "and it stays writable")
	assert.NotEqual(t, pinned, cw.Leaf.Frame(), "the child gets a copy")
	assert.Equal(t, parent.Walk(0xb01000).Leaf.Frame(), child.Walk(0xb01000).Leaf.Frame(),
		"pages not pinned are shared copy-on-write")

	// The parent writes the page after the fork, then the kernel's write
	// lands.
	_, err = parent.CopyOut(0xb00010, []byte("!"))
	require.NoError(t, err)
	copy(bufs[0], "landed")
	unpin()
	assert.False(t, ram.Pinned(pinned))

	buf := make([]byte, 6)
	_, err = parent.CopyIn(0xb00000, buf)
	require.NoError(t, err)
	assert.Equal(t, "landed", string(buf))
	_, err = child.CopyIn(0xb00000, buf)
	require.NoError(t, err)
	assert.Equal(t, "before", string(buf), "the child's copy is as the page was at fork")
}

// TestForkCopiesCMAWindow: the remote pages a process_vm_writev has
// pinned are pinned as a blocked read's are: a fork of the remote
// meanwhile leaves them the remote's, and the bytes the copy then writes
// land in the remote's page, not in a frame a copy-on-write break has
// already replaced (the lost write the soak found).
func TestForkCopiesCMAWindow(t *testing.T) {
	ram, remote := newTestMM(t)
	mapAt(t, remote, 0xb00000, 1, ProtRead|ProtWrite)
	_, err := remote.CopyOut(0xb00000, []byte("before"))
	require.NoError(t, err)
	var s cmaSide
	s.init(remote, []IOVec{{Base: 0xb00000, Len: 6}}, true, true)
	require.True(t, s.pin(0xb00000, 6))
	frame := remote.Walk(0xb00000).Leaf.Frame()
	assert.True(t, ram.Pinned(frame))

	child, err := remote.Fork()
	require.NoError(t, err)
	defer child.Release()
	rw := remote.Walk(0xb00000)
	assert.Equal(t, frame, rw.Leaf.Frame(), "the remote keeps the pinned page")
	assert.NotZero(t, rw.Leaf&PTEWrite, "and it stays writable")
	copy(ram.Bytes(frame), "landed")
	s.unpin()
	assert.False(t, ram.Pinned(frame))

	buf := make([]byte, 6)
	_, err = remote.CopyIn(0xb00000, buf)
	require.NoError(t, err)
	assert.Equal(t, "landed", string(buf))
	_, err = child.CopyIn(0xb00000, buf)
	require.NoError(t, err)
	assert.Equal(t, "before", string(buf), "the child's copy is as the page was at fork")
}
