package socket

import (
	"github.com/cmaemu/cmaemu/kernel/file"
	"github.com/cmaemu/cmaemu/linux"
)

// Read is read(2) on a socket: recv with no flags; a socket has no
// offset (ESPIPE).
func Read(s Socket, ctx file.Context, bufs [][]byte, off int64) (int, error) {
	if off >= 0 {
		return 0, linux.ESPIPE
	}
	return s.RecvMsg(ctx, &Message{Data: bufs}, 0)
}

// Write is write(2) on a socket: send with no flags.
func Write(s Socket, ctx file.Context, bufs [][]byte, off int64) (int, error) {
	if off >= 0 {
		return 0, linux.ESPIPE
	}
	return s.SendMsg(ctx, &Message{Data: bufs}, 0)
}

// Len is the summed length of bufs.
func Len(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// Skip returns bufs without their first n bytes.
func Skip(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 && n > 0 {
		bufs = append([][]byte{bufs[0][n:]}, bufs[1:]...)
	}
	return bufs
}
