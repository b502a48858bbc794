package lock

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cmaemu/cmaemu/linux"
)

const eof = MaxOffset

func TestFlockRange(t *testing.T) {
	tests := []struct {
		name          string
		whence        int16
		start, length int64
		pos, size     int64
		want          Range
		err           error
	}{
		{name: "whole file", whence: SeekSet, want: Range{0, eof}},
		{name: "set", whence: SeekSet, start: 10, length: 5, want: Range{10, 14}},
		{name: "set to EOF", whence: SeekSet, start: 10, want: Range{10, eof}},
		{name: "cur", whence: SeekCur, pos: 100, start: -10, length: 5, want: Range{90, 94}},
		{name: "end", whence: SeekEnd, size: 1000, start: -1, length: 1, want: Range{999, 999}},
		{name: "end ignores pos", whence: SeekEnd, pos: 7, size: 20, want: Range{20, eof}},
		{name: "set ignores pos and size", whence: SeekSet, pos: 7, size: 20, start: 3, length: 1, want: Range{3, 3}},
		{name: "negative length", whence: SeekSet, start: 10, length: -10, want: Range{0, 9}},
		{name: "negative length from end", whence: SeekEnd, size: 1000, length: -100, want: Range{900, 999}},
		{name: "negative length from cur", whence: SeekCur, pos: 10, length: -1, want: Range{9, 9}},
		{name: "negative length before 0", whence: SeekSet, start: 10, length: -11, err: linux.EINVAL},
		{name: "negative length at 0", whence: SeekSet, length: -1, err: linux.EINVAL},
		{name: "most negative length", whence: SeekSet, start: 5, length: math.MinInt64, err: linux.EINVAL},
		{name: "negative start", whence: SeekSet, start: -1, err: linux.EINVAL},
		{name: "cur before 0", whence: SeekCur, pos: 5, start: -6, err: linux.EINVAL},
		{name: "end before 0", whence: SeekEnd, size: 5, start: -6, length: 1, err: linux.EINVAL},
		{name: "bad whence", whence: 3, err: linux.EINVAL},
		{name: "negative whence", whence: -1, err: linux.EINVAL},
		{name: "last byte", whence: SeekSet, start: eof, length: 1, want: Range{eof, eof}},
		{name: "past last byte", whence: SeekSet, start: eof, length: 2, err: linux.EOVERFLOW},
		{name: "start overflows", whence: SeekEnd, size: 10, start: eof - 9, err: linux.EOVERFLOW},
		{name: "start just fits", whence: SeekEnd, size: 10, start: eof - 10, want: Range{eof, eof}},
		{name: "cur start overflows", whence: SeekCur, pos: 1, start: eof, err: linux.EOVERFLOW},
		{name: "longest length", whence: SeekSet, length: eof, want: Range{0, eof - 1}},
		{name: "longest length from 1", whence: SeekSet, start: 1, length: eof, want: Range{1, eof}},
		{name: "length overflows", whence: SeekSet, start: 2, length: eof, err: linux.EOVERFLOW},
		// The start is checked before the length.
		{name: "overflow before negative length", whence: SeekEnd, size: 10, start: eof, length: -1, err: linux.EOVERFLOW},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := FlockRange(tt.whence, tt.start, tt.length, tt.pos, tt.size)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, r)
		})
	}
}

func TestRangeLen(t *testing.T) {
	assert.Equal(t, int64(0), WholeFile.Len())
	assert.Equal(t, int64(0), Range{10, eof}.Len())
	assert.Equal(t, int64(1), Range{10, 10}.Len())
	assert.Equal(t, int64(eof), Range{0, eof - 1}.Len())
	assert.True(t, Range{0, 9}.Overlaps(Range{9, 20}))
	assert.False(t, Range{0, 9}.Overlaps(Range{10, 20}))
}

func TestFixupCompat(t *testing.T) {
	l := Flock{Start: math.MaxInt32, Len: 1 << 40}
	require.NoError(t, l.FixupCompat())
	assert.Equal(t, Flock{Start: math.MaxInt32, Len: math.MaxInt32}, l)

	l = Flock{Start: 1 << 31, Len: 1}
	assert.ErrorIs(t, l.FixupCompat(), linux.EOVERFLOW)
}

func TestTypeAndMode(t *testing.T) {
	assert.Equal(t, "F_RDLCK", ReadLock.String())
	assert.Equal(t, "F_WRLCK", WriteLock.String())
	assert.Equal(t, "F_UNLCK", Unlock.String())
	assert.Equal(t, "Type(7)", Type(7).String())
	assert.False(t, Type(-1).Valid())

	assert.Equal(t, Readable, ModeOf(linux.O_RDONLY|linux.O_CREAT))
	assert.Equal(t, Writable, ModeOf(linux.O_WRONLY))
	assert.Equal(t, Readable|Writable, ModeOf(linux.O_RDWR))
	assert.Equal(t, Mode(0), ModeOf(3))

	assert.Equal(t, int32(1000), Process(1000).Pid())
	assert.Equal(t, int32(-1), Description(1000).Pid())
	assert.NotEqual(t, Process(5), Description(5))
	assert.Equal(t, "pid 5", Process(5).String())
	assert.Equal(t, "ofd 5", Description(5).String())
}
