package ipc

import "encoding/binary"

// Layout is how a caller's ABI lays out the *id_ds structures.
type Layout int

// The layouts.
const (
	// Layout64 is x86-64's (struct ipc64_perm, shmid64_ds, ...).
	Layout64 Layout = iota
	// LayoutCompat64 is i386's with IPC_64 (compat_ipc64_perm, ...),
	// what the direct i386 calls and libc use.
	LayoutCompat64
	// LayoutCompatOld is i386's without IPC_64 (compat_ipc_perm with
	// 16-bit ids, compat_shmid_ds, ...).
	LayoutCompatOld
)

var le = binary.LittleEndian

// enc appends little-endian fields.
type enc struct{ b []byte }

func (e *enc) u16(v uint16) { e.b = le.AppendUint16(e.b, v) }
func (e *enc) u32(v uint32) { e.b = le.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64) { e.b = le.AppendUint64(e.b, v) }

// long is a C long or unsigned long of the layout.
func (e *enc) long(l Layout, v uint64) {
	if l == Layout64 {
		e.u64(v)
	} else {
		e.u32(uint32(v))
	}
}

// time64 is a time field: a long on x86-64, a low and a high half in the
// compat IPC_64 layouts, 32 bits in the old ones.
func (e *enc) time64(l Layout, t int64) {
	switch l {
	case Layout64:
		e.u64(uint64(t))
	case LayoutCompat64:
		e.u32(uint32(t))
		e.u32(uint32(uint64(t) >> 32))
	default:
		e.u32(uint32(t))
	}
}

// id16 is high2lowuid: ids above 65535 show as the overflow id.
func id16(id uint32) uint16 {
	if id > 0xffff {
		return 65534
	}
	return uint16(id)
}

func (e *enc) perm(l Layout, p Perm) {
	e.u32(uint32(p.Key))
	if l == LayoutCompatOld {
		for _, id := range []uint32{p.UID, p.GID, p.CUID, p.CGID} {
			e.u16(id16(id))
		}
		e.u16(uint16(p.Mode))
		e.u16(p.Seq)
		return
	}
	for _, id := range []uint32{p.UID, p.GID, p.CUID, p.CGID} {
		e.u32(id)
	}
	if l == Layout64 {
		e.u32(p.Mode)
		e.u16(p.Seq)
		e.u16(0)
		e.u32(0) // alignment
		e.u64(0)
		e.u64(0)
		return
	}
	e.u16(uint16(p.Mode))
	e.u16(0)
	e.u16(p.Seq)
	e.u16(0)
	e.u32(0)
	e.u32(0)
}

// pid16 is an old layout's pid (compat_ipc_pid_t, unsigned short).
func pid16(p int32) uint16 { return uint16(p) }

// EncodeShmDS lays out struct shmid64_ds (compat_shmid_ds for the old
// layout).
func EncodeShmDS(l Layout, d ShmDS) []byte {
	var e enc
	e.perm(l, d.Perm)
	if l == LayoutCompatOld {
		e.u32(uint32(d.Segsz))
		e.u32(uint32(d.Atime))
		e.u32(uint32(d.Dtime))
		e.u32(uint32(d.Ctime))
		e.u16(pid16(d.Cpid))
		e.u16(pid16(d.Lpid))
		e.u16(uint16(d.Nattch))
		e.u16(0)
		e.u32(0)
		e.u32(0)
		return e.b
	}
	e.long(l, d.Segsz)
	e.time64(l, d.Atime)
	e.time64(l, d.Dtime)
	e.time64(l, d.Ctime)
	e.u32(uint32(d.Cpid))
	e.u32(uint32(d.Lpid))
	e.long(l, d.Nattch)
	e.long(l, 0)
	e.long(l, 0)
	return e.b
}

// EncodeSemDS lays out struct semid64_ds (compat_semid_ds for the old
// layout).
func EncodeSemDS(l Layout, d SemDS) []byte {
	var e enc
	e.perm(l, d.Perm)
	switch l {
	case LayoutCompatOld:
		e.u32(uint32(d.Otime))
		e.u32(uint32(d.Ctime))
		for range 4 {
			e.u32(0) // sem_base, sem_pending, sem_pending_last, undo
		}
		e.u16(uint16(d.Nsems))
		e.u16(0)
	case Layout64:
		e.u64(uint64(d.Otime))
		e.u64(0)
		e.u64(uint64(d.Ctime))
		e.u64(0)
		e.u64(d.Nsems)
		e.u64(0)
		e.u64(0)
	default:
		e.time64(l, d.Otime)
		e.time64(l, d.Ctime)
		e.u32(uint32(d.Nsems))
		e.u32(0)
		e.u32(0)
	}
	return e.b
}

// EncodeMsgDS lays out struct msqid64_ds (compat_msqid_ds for the old
// layout).
func EncodeMsgDS(l Layout, d MsgDS) []byte {
	var e enc
	e.perm(l, d.Perm)
	if l == LayoutCompatOld {
		e.u32(0) // msg_first
		e.u32(0) // msg_last
		e.u32(uint32(d.Stime))
		e.u32(uint32(d.Rtime))
		e.u32(uint32(d.Ctime))
		e.u32(uint32(d.Cbytes)) // msg_lcbytes
		e.u32(uint32(d.Qbytes)) // msg_lqbytes
		e.u16(uint16(min(d.Cbytes, 0xffff)))
		e.u16(uint16(min(d.Qnum, 0xffff)))
		e.u16(uint16(min(d.Qbytes, 0xffff)))
		e.u16(pid16(d.Lspid))
		e.u16(pid16(d.Lrpid))
		e.u16(0)
		return e.b
	}
	e.time64(l, d.Stime)
	e.time64(l, d.Rtime)
	e.time64(l, d.Ctime)
	e.long(l, d.Cbytes)
	e.long(l, d.Qnum)
	e.long(l, d.Qbytes)
	e.u32(uint32(d.Lspid))
	e.u32(uint32(d.Lrpid))
	e.long(l, 0)
	e.long(l, 0)
	return e.b
}

// SetSize is how many bytes IPC_SET reads: the structure up to the last
// field it uses (msg_qbytes for queues, the permission otherwise).
func SetSize(l Layout, queue bool) int {
	switch {
	case !queue && l == Layout64:
		return 48
	case !queue && l == LayoutCompat64:
		return 36
	case !queue:
		return 16
	case l == Layout64:
		return 96
	case l == LayoutCompat64:
		return 72
	}
	return 50
}

// SetArgs are what IPC_SET takes from the caller's structure.
type SetArgs struct {
	UID, GID, Mode uint32
	Qbytes         uint64
}

// DecodeSet reads IPC_SET's arguments from b (SetSize bytes).
func DecodeSet(l Layout, b []byte, queue bool) SetArgs {
	var s SetArgs
	if l == LayoutCompatOld {
		s.UID, s.GID, s.Mode = uint32(le.Uint16(b[4:])), uint32(le.Uint16(b[6:])), uint32(le.Uint16(b[12:]))
		if queue {
			s.Qbytes = uint64(le.Uint16(b[48:]))
		}
		return s
	}
	s.UID, s.GID = le.Uint32(b[4:]), le.Uint32(b[8:])
	if l == Layout64 {
		s.Mode = le.Uint32(b[20:])
		if queue {
			s.Qbytes = le.Uint64(b[88:])
		}
	} else {
		s.Mode = uint32(le.Uint16(b[20:]))
		if queue {
			s.Qbytes = uint64(le.Uint32(b[68:]))
		}
	}
	return s
}

// EncodeShmLimits lays out IPC_INFO's struct shminfo64 (struct shminfo
// of ints for the old layout, capped at INT_MAX).
func EncodeShmLimits(l Layout) []byte {
	var e enc
	vals := []uint64{ShmMax, ShmMin, ShmMni, ShmSeg, ShmAll}
	if l == LayoutCompatOld {
		for _, v := range vals {
			e.u32(uint32(min(v, 1<<31-1)))
		}
		return e.b
	}
	for _, v := range vals {
		e.long(l, v)
	}
	for range 4 {
		e.long(l, 0)
	}
	return e.b
}

// EncodeShmInfo lays out SHM_INFO's struct shm_info.
func EncodeShmInfo(l Layout, in ShmInfo) []byte {
	var e enc
	e.u32(uint32(in.UsedIDs))
	if l == Layout64 {
		e.u32(0)
	}
	for _, v := range []uint64{in.Tot, in.RSS, in.Swp, in.SwapAttempts, in.SwapSucc} {
		e.long(l, v)
	}
	return e.b
}

// EncodeSemInfo lays out struct seminfo (the same in every layout).
func EncodeSemInfo(in SemInfo) []byte {
	var e enc
	for _, v := range []int32{in.Semmap, in.Semmni, in.Semmns, in.Semmnu, in.Semmsl, in.Semopm, in.Semume, in.Semusz, in.Semvmx, in.Semaem} {
		e.u32(uint32(v))
	}
	return e.b
}

// EncodeMsgInfo lays out struct msginfo (the same in every layout).
func EncodeMsgInfo(in MsgInfo) []byte {
	var e enc
	for _, v := range []int32{in.Msgpool, in.Msgmap, in.Msgmax, in.Msgmnb, in.Msgmni, in.Msgssz, in.Msgtql} {
		e.u32(uint32(v))
	}
	e.u16(in.Msgseg)
	e.u16(0)
	return e.b
}
