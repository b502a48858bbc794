package linux

// Signal is a Linux signal number.
type Signal int

// Signals of x86 Linux.
const (
	SIGHUP    Signal = 1
	SIGINT    Signal = 2
	SIGQUIT   Signal = 3
	SIGILL    Signal = 4
	SIGTRAP   Signal = 5
	SIGABRT   Signal = 6
	SIGBUS    Signal = 7
	SIGFPE    Signal = 8
	SIGKILL   Signal = 9
	SIGUSR1   Signal = 10
	SIGSEGV   Signal = 11
	SIGUSR2   Signal = 12
	SIGPIPE   Signal = 13
	SIGALRM   Signal = 14
	SIGTERM   Signal = 15
	SIGSTKFLT Signal = 16
	SIGCHLD   Signal = 17
	SIGCONT   Signal = 18
	SIGSTOP   Signal = 19
	SIGTSTP   Signal = 20
	SIGTTIN   Signal = 21
	SIGTTOU   Signal = 22
	SIGURG    Signal = 23
	SIGXCPU   Signal = 24
	SIGXFSZ   Signal = 25
	SIGVTALRM Signal = 26
	SIGPROF   Signal = 27
	SIGWINCH  Signal = 28
	SIGIO     Signal = 29
	SIGPWR    Signal = 30
	SIGSYS    Signal = 31
	SIGRTMIN  Signal = 32

	// NSig is the number of signals (_NSIG); valid signals are 1..NSig.
	NSig = 64
)

var signalNames = [...]string{"", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
	"SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
	"SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ",
	"SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"}

var signalText = [...]string{"", "Hangup", "Interrupt", "Quit", "Illegal instruction", "Trace/breakpoint trap",
	"Aborted", "Bus error", "Floating point exception", "Killed", "User defined signal 1",
	"Segmentation fault", "User defined signal 2", "Broken pipe", "Alarm clock", "Terminated",
	"Stack fault", "Child exited", "Continued", "Stopped (signal)", "Stopped", "Stopped (tty input)",
	"Stopped (tty output)", "Urgent I/O condition", "CPU time limit exceeded", "File size limit exceeded",
	"Virtual timer expired", "Profiling timer expired", "Window changed", "I/O possible",
	"Power failure", "Bad system call"}

// String returns the name, e.g. "SIGSEGV", or "SIGRTMIN+n".
func (s Signal) String() string {
	switch {
	case s > 0 && int(s) < len(signalNames):
		return signalNames[s]
	case s >= SIGRTMIN && s <= NSig:
		return "SIGRTMIN+" + itoa(uint64(s-SIGRTMIN))
	}
	return "SIG" + itoa(uint64(s))
}

// Description returns the C library's text, e.g. "Segmentation fault".
func (s Signal) Description() string {
	if s > 0 && int(s) < len(signalText) {
		return signalText[s]
	}
	return "Real-time signal " + itoa(uint64(s-SIGRTMIN))
}

// SigSet is a set of signals: bit n-1 stands for signal n.
type SigSet uint64

// Bit returns the set holding only s.
func Bit(s Signal) SigSet { return 1 << (s - 1) }

// SigAction is struct sigaction as the kernel sees it (x86-64 layout).
type SigAction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     SigSet
}

// Special handler values.
const (
	SIG_DFL = 0
	SIG_IGN = 1
)
