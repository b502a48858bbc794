package ipc

import (
	"fmt"
	"strings"
)

// The headers of /proc/sysvipc/shm, sem and msg on 64-bit kernels.
const (
	shmHeader = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n"
	semHeader = "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"
	msgHeader = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n"
)

// ProcShm is /proc/sysvipc/shm: a header and a line per segment, in
// index order, as Linux's sysvipc_shm_proc_show prints them.
func (ns *Namespace) ProcShm() string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	var b strings.Builder
	b.WriteString(shmHeader)
	for _, s := range ns.shms.sorted() {
		p := &s.perm
		fmt.Fprintf(&b, "%10d %10d  %4o %21d %5d %5d  %5d %5d %5d %5d %5d %10d %10d %10d %21d %21d\n",
			p.Key, p.ID, p.Mode, s.size, s.cpid, s.lpid, s.nattch(), p.UID, p.GID, p.CUID, p.CGID,
			s.atime, s.dtime, s.ctime, uint64(s.obj.Resident())*4096, 0)
	}
	return b.String()
}

// ProcSem is /proc/sysvipc/sem.
func (ns *Namespace) ProcSem() string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	var b strings.Builder
	b.WriteString(semHeader)
	for _, s := range ns.sems.sorted() {
		p := &s.perm
		fmt.Fprintf(&b, "%10d %10d  %4o %10d %5d %5d %5d %5d %10d %10d\n",
			p.Key, p.ID, p.Mode, len(s.sems), p.UID, p.GID, p.CUID, p.CGID, s.otime(), s.ctime)
	}
	return b.String()
}

// ProcMsg is /proc/sysvipc/msg.
func (ns *Namespace) ProcMsg() string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	var b strings.Builder
	b.WriteString(msgHeader)
	for _, q := range ns.msgs.sorted() {
		p := &q.perm
		fmt.Fprintf(&b, "%10d %10d  %4o  %10d %10d %5d %5d %5d %5d %5d %5d %10d %10d %10d\n",
			p.Key, p.ID, p.Mode, q.cbytes, len(q.msgs), q.lspid, q.lrpid, p.UID, p.GID, p.CUID, p.CGID,
			q.stime, q.rtime, q.ctime)
	}
	return b.String()
}
