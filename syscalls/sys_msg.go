package syscalls

import (
	"encoding/binary"

	"github.com/cmaemu/cmaemu/kernel/ipc"
	"github.com/cmaemu/cmaemu/linux"
	"github.com/cmaemu/cmaemu/mm"
)

// Msgget implements msgget(2).
func Msgget(t *Task, a Args) (uintptr, error) {
	id, err := t.k.ipc.MsgGet(t.ipcCaller(), a.Int(0), a.Uint(1))
	return uintptr(id), err
}

// Msgsnd implements msgsnd(2) (and i386's, whose size is 32-bit).
func Msgsnd(t *Task, a Args) (uintptr, error) {
	size := a.Int64(2)
	if t.mode32() {
		size = int64(a.Int(2))
	}
	return msgsnd(t, a.Int(0), a.Pointer(1), size, a.Uint(3))
}

// msgsnd is do_msgsnd: struct msgbuf is a long mtype (4 bytes on i386)
// and the text.
func msgsnd(t *Task, id int32, msgp mm.Addr, size int64, flags uint32) (uintptr, error) {
	long := uint64(t.table.abi.ptrSize)
	var tb [8]byte
	if _, err := t.MM().CopyIn(msgp, tb[:long]); err != nil {
		return 0, err
	}
	typ := int64(binary.LittleEndian.Uint64(tb[:]))
	if long == 4 {
		typ = int64(int32(binary.LittleEndian.Uint32(tb[:])))
	}
	if size > ipc.MsgMax || size < 0 || id < 0 || typ < 1 {
		return 0, linux.EINVAL
	}
	text := make([]byte, size)
	if _, err := t.MM().CopyIn(msgp+mm.Addr(long), text); err != nil {
		return 0, err
	}
	return 0, t.k.ipc.MsgSnd(t.ipcCaller(), t, id, ipc.Message{Type: typ, Text: text}, flags)
}

// Msgrcv implements msgrcv(2) (and i386's: a 32-bit size and type).
func Msgrcv(t *Task, a Args) (uintptr, error) {
	size, typ := a.Int64(2), a.Int64(3)
	if t.mode32() {
		size, typ = int64(a.Int(2)), int64(a.Int(3))
	}
	return msgrcv(t, a.Int(0), a.Pointer(1), size, typ, a.Uint(4))
}

// msgrcv is do_msgrcv: the type, then the text, are written to msgp; the
// result is the text's length.
func msgrcv(t *Task, id int32, msgp mm.Addr, size, typ int64, flags uint32) (uintptr, error) {
	if id < 0 || size < 0 {
		return 0, linux.EINVAL
	}
	m, err := t.k.ipc.MsgRcv(t.ipcCaller(), t, id, size, typ, flags)
	if err != nil {
		return 0, err
	}
	long := t.table.abi.ptrSize
	b := make([]byte, long+len(m.Text))
	if long == 4 {
		binary.LittleEndian.PutUint32(b, uint32(m.Type))
	} else {
		binary.LittleEndian.PutUint64(b, uint64(m.Type))
	}
	copy(b[long:], m.Text)
	if _, err := t.MM().CopyOut(msgp, b); err != nil {
		return 0, err
	}
	return uintptr(len(m.Text)), nil
}

// Msgctl implements msgctl(2) (and i386's direct msgctl, with IPC_64's
// layouts).
func Msgctl(t *Task, a Args) (uintptr, error) {
	return msgctl(t, a.Int(0), a.Int(1), a.Pointer(2), false)
}

func msgctl(t *Task, id, cmd int32, buf mm.Addr, mux bool) (uintptr, error) {
	cmd, l := t.ipcCmd(cmd, mux)
	if cmd < 0 || id < 0 {
		return 0, linux.EINVAL
	}
	ns, c := t.k.ipc, t.ipcCaller()
	switch cmd {
	case linux.IPC_INFO, linux.MSG_INFO:
		in := ns.MsgInfo(cmd == linux.MSG_INFO)
		return t.putIPC(buf, ipc.EncodeMsgInfo(in), in.MaxIdx)
	case linux.IPC_STAT, linux.MSG_STAT, linux.MSG_STAT_ANY:
		ds, ret, err := ns.MsgStat(c, id, cmd)
		if err != nil {
			return 0, err
		}
		return t.putIPC(buf, ipc.EncodeMsgDS(l, ds), ret)
	case linux.IPC_SET:
		s, err := t.ipcSetArgs(l, buf, true)
		if err != nil {
			return 0, err
		}
		return 0, ns.MsgSet(c, id, s.UID, s.GID, s.Mode, s.Qbytes)
	case linux.IPC_RMID:
		return 0, ns.MsgRemove(c, id)
	}
	return 0, linux.EINVAL
}
