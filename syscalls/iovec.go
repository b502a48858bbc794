package syscalls

import (
	"encoding/binary"

	"cmaemu/mm"
)

// Iovec is struct iovec of the caller's ABI, widened.
type Iovec struct {
	Base mm.Addr
	Len  uint64
}

// readIovecs reads n 64-bit struct iovec at addr.
func readIovecs(as *mm.MM, addr mm.Addr, n int) ([]Iovec, error) {
	raw := make([]byte, 16*n)
	if _, err := as.CopyIn(addr, raw); err != nil {
		return nil, err
	}
	out := make([]Iovec, n)
	for i := range out {
		out[i].Base = mm.Addr(binary.LittleEndian.Uint64(raw[16*i:]))
		out[i].Len = binary.LittleEndian.Uint64(raw[16*i+8:])
	}
	return out, nil
}
