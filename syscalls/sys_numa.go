package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// NUMA memory policies: set_mempolicy, get_mempolicy and mbind, with
// Linux's checks, on a machine with one memory node (node 0) and
// CONFIG_NODES_SHIFT=10. A task's policy (Task.mempolicy) is copied by
// clone; mbind's policies live with the mappings (mm.VMA.Policy). Memory
// is placed the same whatever the policy.

// maxNumNodes is MAX_NUMNODES: node masks may be that long.
const maxNumNodes = 1024

// mpolModeFlags are the flags that may accompany a mode.
const mpolModeFlags = linux.MPOL_F_STATIC_NODES | linux.MPOL_F_RELATIVE_NODES | linux.MPOL_F_NUMA_BALANCING

// nodeMask is a set of nodes; node masks are kept to their first 64
// nodes, the part get_mempolicy reports on a one-node machine.
type nodeMask struct {
	low   uint64 // nodes 0 to 63
	other bool   // some node from 64 to MAX_NUMNODES-1
}

func (n nodeMask) empty() bool { return n.low == 0 && !n.other }

// readNodes is get_nodes: maxnode-1 bits of the node mask at addr (longs
// of the ABI); nodes past MAX_NUMNODES must be clear (EINVAL), and the
// mask may not exceed a page of bits (EINVAL).
func (t *Task) readNodes(addr mm.Addr, maxnode uint64) (nodeMask, error) {
	maxnode--
	if maxnode == 0 || addr == 0 {
		return nodeMask{}, nil
	}
	if maxnode > mm.PageSize*8 {
		return nodeMask{}, linux.EINVAL
	}
	word := uint64(t.table.abi.ptrSize * 8)
	raw := make([]byte, (maxnode+word-1)/word*word/8)
	if _, err := t.MM().CopyIn(addr, raw); err != nil {
		return nodeMask{}, err
	}
	bit := func(i uint64) bool { return raw[i/8]&(1<<(i%8)) != 0 }
	var n nodeMask
	for i := uint64(0); i < maxnode; i++ {
		if !bit(i) {
			continue
		}
		switch {
		case i >= maxNumNodes:
			return nodeMask{}, linux.EINVAL
		case i < 64:
			n.low |= 1 << i
		default:
			n.other = true
		}
	}
	return n, nil
}

// newPolicy is mpol_new and mpol_set_nodemask for mode (with its flags)
// and the user's nodes: the policy to store (Set false for the default
// one) or EINVAL. The machine's only node is 0.
func newPolicy(mode int32, nodes nodeMask) (mm.MemPolicy, error) {
	flags := mode & mpolModeFlags
	mode &^= mpolModeFlags
	if uint32(mode) > linux.MPOL_WEIGHTED_INTERLEAVE ||
		flags&(linux.MPOL_F_STATIC_NODES|linux.MPOL_F_RELATIVE_NODES) == linux.MPOL_F_STATIC_NODES|linux.MPOL_F_RELATIVE_NODES {
		return mm.MemPolicy{}, linux.EINVAL
	}
	if flags&linux.MPOL_F_NUMA_BALANCING != 0 && mode != linux.MPOL_BIND && mode != linux.MPOL_PREFERRED_MANY {
		return mm.MemPolicy{}, linux.EINVAL
	}
	placement := flags & (linux.MPOL_F_STATIC_NODES | linux.MPOL_F_RELATIVE_NODES)
	switch {
	case mode == linux.MPOL_DEFAULT:
		if !nodes.empty() {
			return mm.MemPolicy{}, linux.EINVAL
		}
		return mm.MemPolicy{Set: true, Mode: linux.MPOL_DEFAULT}, nil
	case mode == linux.MPOL_PREFERRED && nodes.empty():
		if placement != 0 {
			return mm.MemPolicy{}, linux.EINVAL
		}
		mode = linux.MPOL_LOCAL
	case mode == linux.MPOL_LOCAL:
		if !nodes.empty() || placement != 0 {
			return mm.MemPolicy{}, linux.EINVAL
		}
	case nodes.empty():
		return mm.MemPolicy{}, linux.EINVAL
	}
	p := mm.MemPolicy{Set: true, Mode: uint16(mode | flags)}
	if mode == linux.MPOL_LOCAL {
		return p, nil
	}
	// The nodes that have memory: node 0, or with relative nodes any
	// node folds onto it.
	if nodes.low&1 == 0 && flags&linux.MPOL_F_RELATIVE_NODES == 0 {
		return mm.MemPolicy{}, linux.EINVAL
	}
	switch {
	case flags != 0:
		p.Nodes = nodes.low // reported as the user gave them
	default:
		p.Nodes = 1
	}
	return p, nil
}

// defaultPolicy reports whether p is no policy at all (MPOL_DEFAULT).
func defaultPolicy(p mm.MemPolicy) bool { return !p.Set || p.Mode == linux.MPOL_DEFAULT }

// SetMempolicy implements set_mempolicy(2).
func SetMempolicy(t *Task, a Args) (uintptr, error) {
	mode := a.Int(0)
	if modeInvalid(mode) {
		return 0, linux.EINVAL
	}
	nodes, err := t.readNodes(a.Pointer(1), a.Uint64(2))
	if err != nil {
		return 0, err
	}
	p, err := newPolicy(mode, nodes)
	if err != nil {
		return 0, err
	}
	if defaultPolicy(p) {
		p = mm.MemPolicy{}
	}
	t.proc.mu.Lock()
	t.mempolicy = p
	t.proc.mu.Unlock()
	return 0, nil
}

// modeInvalid is sanitize_mpol_flags: whether mode is refused before the
// node mask is read.
func modeInvalid(mode int32) bool {
	flags := mode & mpolModeFlags
	m := mode &^ mpolModeFlags
	return uint32(m) > linux.MPOL_WEIGHTED_INTERLEAVE ||
		flags&(linux.MPOL_F_STATIC_NODES|linux.MPOL_F_RELATIVE_NODES) == linux.MPOL_F_STATIC_NODES|linux.MPOL_F_RELATIVE_NODES ||
		(flags&linux.MPOL_F_NUMA_BALANCING != 0 && m != linux.MPOL_BIND && m != linux.MPOL_PREFERRED_MANY)
}

// GetMempolicy implements get_mempolicy(2): the task's policy, the
// policy of the mapping at addr (MPOL_F_ADDR; EFAULT if none maps it), the
// node of that address or the next interleave node (MPOL_F_NODE: always
// 0), or the nodes the task may use (MPOL_F_MEMS_ALLOWED: node 0).
func GetMempolicy(t *Task, a Args) (uintptr, error) {
	modeAddr, maskAddr, maxnode, addr, flags := a.Pointer(0), a.Pointer(1), a.Uint64(2), a.Pointer(3), a.Uint64(4)
	if maskAddr != 0 && maxnode < 1 {
		return 0, linux.EINVAL
	}
	if flags&^(linux.MPOL_F_NODE|linux.MPOL_F_ADDR|linux.MPOL_F_MEMS_ALLOWED) != 0 {
		return 0, linux.EINVAL
	}
	var mode int32
	var nodes uint64
	switch {
	case flags&linux.MPOL_F_MEMS_ALLOWED != 0:
		if flags&(linux.MPOL_F_NODE|linux.MPOL_F_ADDR) != 0 {
			return 0, linux.EINVAL
		}
		nodes = 1
	default:
		var pol mm.MemPolicy
		task := true
		if flags&linux.MPOL_F_ADDR != 0 {
			p, ok := t.MM().PolicyAt(addr)
			if !ok {
				return 0, linux.EFAULT
			}
			pol, task = p, false
		} else if addr != 0 {
			return 0, linux.EINVAL
		} else {
			t.proc.mu.Lock()
			pol = t.mempolicy
			t.proc.mu.Unlock()
		}
		base := int32(pol.Mode) &^ mpolModeFlags
		if flags&linux.MPOL_F_NODE != 0 {
			interleave := base == linux.MPOL_INTERLEAVE || base == linux.MPOL_WEIGHTED_INTERLEAVE
			if flags&linux.MPOL_F_ADDR == 0 && !(task && pol.Set && interleave) {
				return 0, linux.EINVAL
			}
			mode = 0 // the node: there is only node 0
		} else if pol.Set {
			mode = int32(pol.Mode)
		}
		if pol.Set {
			nodes = pol.Nodes
		}
	}
	if modeAddr != 0 {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(mode))
		if _, err := t.MM().CopyOut(modeAddr, b[:]); err != nil {
			return 0, err
		}
	}
	if maskAddr != 0 {
		return 0, t.putNodes(maskAddr, maxnode, nodes)
	}
	return 0, nil
}

// putNodes is copy_nodes_to_user for a one-node machine: the mask is
// written as maxnode-1 bits rounded up to 64, the part past the first
// long of the ABI zeroed (a page at most, else EINVAL); compat tasks get
// at least one 32-bit word.
func (t *Task) putNodes(addr mm.Addr, maxnode, nodes uint64) error {
	copyLen := ((maxnode - 1 + 63) &^ 63) / 8
	long := uint64(t.table.abi.ptrSize)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], nodes)
	if copyLen > long {
		if copyLen > mm.PageSize {
			return linux.EINVAL
		}
		if _, err := t.MM().ZeroOut(addr+mm.Addr(long), int(copyLen-long)); err != nil {
			return err
		}
		copyLen = long
	} else if long == 4 {
		copyLen = 4 // compat_put_bitmap writes whole 32-bit words
	}
	_, err := t.MM().CopyOut(addr, b[:copyLen])
	return err
}

// mbind flags.
const mpolMFValid = linux.MPOL_MF_STRICT | linux.MPOL_MF_MOVE | linux.MPOL_MF_MOVE_ALL

// Mbind implements mbind(2): the policy of the mappings in a range.
// Moving pages (MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, which needs
// CAP_SYS_NICE) has nothing to do with one node, nor has MPOL_MF_STRICT
// anything to report.
func Mbind(t *Task, a Args) (uintptr, error) {
	start, length, mode, maskAddr, maxnode, flags := a.Pointer(0), a.Uint64(1), a.Int(2), a.Pointer(3), a.Uint64(4), a.Uint(5)
	if modeInvalid(mode) {
		return 0, linux.EINVAL
	}
	nodes, err := t.readNodes(maskAddr, maxnode)
	if err != nil {
		return 0, err
	}
	if flags&^mpolMFValid != 0 {
		return 0, linux.EINVAL
	}
	if flags&linux.MPOL_MF_MOVE_ALL != 0 && !t.proc.capable(capSysNice) {
		return 0, linux.EPERM
	}
	if !start.IsPageAligned() {
		return 0, linux.EINVAL
	}
	l := (length + mm.PageSize - 1) &^ (mm.PageSize - 1)
	if end, ok := start.AddLength(l); !ok {
		return 0, linux.EINVAL
	} else if end == start {
		return 0, nil
	}
	p, err := newPolicy(mode, nodes)
	if err != nil {
		return 0, err
	}
	if defaultPolicy(p) {
		p = mm.MemPolicy{}
	}
	return 0, t.MM().SetPolicy(start, length, p)
}
