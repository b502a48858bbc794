package ipc

import (
	"github.com/cmaemu/cmaemu/linux"
)

// Message queue limits: Linux's defaults (msgmax, msgmnb, msgmni).
const (
	MsgMax  = 8192  // bytes of one message
	MsgMnb  = 16384 // default bytes of a queue (msg_qbytes)
	MsgMni  = 32000 // queues
	MsgSsz  = 16    // MSGSSZ, for IPC_INFO
	MsgSeg  = 0xffff
	msgPool = MsgMni * MsgMnb / 1024
)

// Message is one message: its type and text.
type Message struct {
	Type int64
	Text []byte
}

// msgQueue is a message queue. Protected by Namespace.mu.
type msgQueue struct {
	perm                Perm
	msgs                []Message
	cbytes              uint64
	qbytes              uint64
	stime, rtime, ctime int64
	lspid, lrpid        int32
	gone                bool
	// changed is broadcast when a message comes or goes, when qbytes
	// changes and at removal.
	changed changed
}

// MsgGet is msgget(2).
func (ns *Namespace) MsgGet(c *Caller, key int32, flags uint32) (int32, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return get(&ns.msgs, c, key, flags, func() (int32, error) {
		q := &msgQueue{perm: *newPerm(c, key, flags), qbytes: MsgMnb, ctime: ns.seconds()}
		if !ns.msgs.add(q, &q.perm, MsgMni) {
			return 0, linux.ENOSPC
		}
		return q.perm.ID, nil
	}, func(*msgQueue) error { return nil })
}

// lookupLocked finds queue id and checks c's access.
// Preconditions: ns.mu held.
func (ns *Namespace) lookupQueueLocked(c *Caller, id int32, acc uint32) (*msgQueue, error) {
	q, err := ns.msgs.find(id)
	if err != nil {
		return nil, err
	}
	if !q.perm.allows(c, acc) {
		return nil, linux.EACCES
	}
	return q, nil
}

// MsgSnd is msgsnd(2) after the message was read (the caller has
// checked its type and size against MsgMax). It waits for room unless
// IPC_NOWAIT (EAGAIN).
func (ns *Namespace) MsgSnd(c *Caller, b Blocker, id int32, m Message, flags uint32) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	q, err := ns.lookupQueueLocked(c, id, modeWrite)
	if err != nil {
		return err
	}
	size := uint64(len(m.Text))
	for size+q.cbytes > q.qbytes || uint64(len(q.msgs))+1 > q.qbytes {
		if flags&linux.IPC_NOWAIT != 0 {
			return linux.EAGAIN
		}
		err := ns.block(b, q.changed.wait(), timeNone)
		if q.gone {
			return linux.EIDRM
		}
		if err != nil {
			return err
		}
		// The permissions may have changed meanwhile.
		if !q.perm.allows(c, modeWrite) {
			return linux.EACCES
		}
	}
	q.msgs = append(q.msgs, m)
	q.cbytes += size
	q.lspid, q.stime = c.PID, ns.seconds()
	ns.msgHdrs++
	ns.msgByte += len(m.Text)
	q.changed.broadcast()
	return nil
}

// pick returns the index of the message msgrcv takes for typ and flags,
// or -1.
func (q *msgQueue) pick(typ int64, flags uint32) int {
	best := -1
	for i, m := range q.msgs {
		switch {
		case flags&linux.MSG_COPY != 0:
			if int64(i) == typ {
				return i
			}
		case typ == 0:
			return i
		case typ > 0 && flags&linux.MSG_EXCEPT != 0:
			if m.Type != typ {
				return i
			}
		case typ > 0:
			if m.Type == typ {
				return i
			}
		default:
			if m.Type <= -typ && (best < 0 || m.Type < q.msgs[best].Type) {
				best = i
			}
		}
	}
	return best
}

// MsgRcv is msgrcv(2): the message of type typ (0: the first; > 0 the
// first of that type, or with MSG_EXCEPT of another; < 0 the lowest type
// up to -typ), waiting for one unless IPC_NOWAIT (ENOMSG). A message
// longer than size is E2BIG and stays, unless MSG_NOERROR truncates it.
// MSG_COPY (with IPC_NOWAIT) copies message number typ and leaves it.
func (ns *Namespace) MsgRcv(c *Caller, b Blocker, id int32, size int64, typ int64, flags uint32) (Message, error) {
	if flags&linux.MSG_COPY != 0 && (flags&linux.MSG_EXCEPT != 0 || flags&linux.IPC_NOWAIT == 0) {
		return Message{}, linux.EINVAL
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	q, err := ns.lookupQueueLocked(c, id, modeRead)
	if err != nil {
		return Message{}, err
	}
	for {
		if i := q.pick(typ, flags); i >= 0 {
			full := q.msgs[i]
			m := full
			if int64(len(m.Text)) > size {
				if flags&linux.MSG_NOERROR == 0 {
					return Message{}, linux.E2BIG
				}
				m.Text = m.Text[:size]
			}
			if flags&linux.MSG_COPY != 0 {
				return m, nil
			}
			q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			q.cbytes -= uint64(len(full.Text))
			q.lrpid, q.rtime = c.PID, ns.seconds()
			ns.msgHdrs--
			ns.msgByte -= len(full.Text)
			q.changed.broadcast()
			return m, nil
		}
		if flags&linux.IPC_NOWAIT != 0 {
			return Message{}, linux.ENOMSG
		}
		err := ns.block(b, q.changed.wait(), timeNone)
		if q.gone {
			return Message{}, linux.EIDRM
		}
		if err != nil {
			return Message{}, err
		}
		if !q.perm.allows(c, modeRead) {
			return Message{}, linux.EACCES
		}
	}
}

// MsgDS is struct msqid64_ds.
type MsgDS struct {
	Perm                Perm
	Stime, Rtime, Ctime int64
	Cbytes, Qnum        uint64
	Qbytes              uint64
	Lspid, Lrpid        int32
}

// MsgStat is msgctl's IPC_STAT (by identifier), MSG_STAT and
// MSG_STAT_ANY (by index: the result is then the identifier).
func (ns *Namespace) MsgStat(c *Caller, id int32, cmd int32) (MsgDS, int32, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	q, ret, err := stat(&ns.msgs, c, id, cmd, linux.MSG_STAT_ANY)
	if err != nil {
		return MsgDS{}, 0, err
	}
	return MsgDS{Perm: q.perm, Stime: q.stime, Rtime: q.rtime, Ctime: q.ctime, Cbytes: q.cbytes,
		Qnum: uint64(len(q.msgs)), Qbytes: q.qbytes, Lspid: q.lspid, Lrpid: q.lrpid}, ret, nil
}

// MsgSet is msgctl's IPC_SET: raising msg_qbytes above MSGMNB needs
// CAP_SYS_RESOURCE.
func (ns *Namespace) MsgSet(c *Caller, id int32, uid, gid, mode uint32, qbytes uint64) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	q, p, err := owned(&ns.msgs, c, id)
	if err != nil {
		return err
	}
	if qbytes > MsgMnb && !c.capable(CapSysResource) {
		return linux.EPERM
	}
	if err := p.set(uid, gid, mode); err != nil {
		return err
	}
	q.qbytes = qbytes
	q.ctime = ns.seconds()
	q.changed.broadcast()
	return nil
}

// MsgRemove is msgctl's IPC_RMID: waiters get EIDRM.
func (ns *Namespace) MsgRemove(c *Caller, id int32) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	q, _, err := owned(&ns.msgs, c, id)
	if err != nil {
		return err
	}
	q.gone = true
	ns.msgs.remove(&q.perm)
	ns.msgHdrs -= len(q.msgs)
	ns.msgByte -= int(q.cbytes)
	q.changed.broadcast()
	return nil
}

// MsgInfo is struct msginfo (IPC_INFO and MSG_INFO) with the highest
// index in use.
type MsgInfo struct {
	Msgpool, Msgmap, Msgmax, Msgmnb, Msgmni, Msgssz, Msgtql int32
	Msgseg                                                  uint16
	MaxIdx                                                  int32
}

// MsgInfo is msgctl's IPC_INFO (limits) or MSG_INFO (usage).
func (ns *Namespace) MsgInfo(usage bool) MsgInfo {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	in := MsgInfo{Msgpool: msgPool, Msgmap: MsgMnb, Msgmax: MsgMax, Msgmnb: MsgMnb, Msgmni: MsgMni,
		Msgssz: MsgSsz, Msgtql: MsgMnb, Msgseg: MsgSeg, MaxIdx: int32(ns.msgs.maxIdx())}
	if usage {
		in.Msgpool, in.Msgmap, in.Msgtql = int32(len(ns.msgs.objs)), int32(ns.msgHdrs), int32(ns.msgByte)
	}
	return in
}
