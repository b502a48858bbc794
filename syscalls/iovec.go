package syscalls

import (
	"github.com/cmaemu/cmaemu/mm"
)

// readIovecs reads n struct iovec of the task's ABI at addr (for traces:
// no length checks).
func (t *Task) readIovecs(addr mm.Addr, n int) ([]mm.IOVec, error) {
	l := t.table.abi.iovec
	raw := make([]byte, l.size*n)
	if _, err := t.MM().CopyIn(addr, raw); err != nil {
		return nil, err
	}
	out := make([]mm.IOVec, n)
	for i := range out {
		out[i] = l.decode(raw[l.size*i:])
	}
	return out, nil
}
