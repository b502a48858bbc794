/* Shared helpers for the cmaemu test guests: plain libc only (glibc and musl,
 * x86-64 and i386). Everything here is static inline so that a guest that
 * does not use a helper still builds with -Wall -Werror. */
#ifndef CMAEMU_GUEST_H
#define CMAEMU_GUEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* errname returns the symbolic name of an errno value ("ENOENT"), so that
 * guests print names rather than libc-specific strerror texts. */
static inline const char *errname(int e)
{
	static char other[32];
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case EPIPE: return "EPIPE";
	case ERANGE: return "ERANGE";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOSYS: return "ENOSYS";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EOVERFLOW: return "EOVERFLOW";
	}
	snprintf(other, sizeof other, "errno%d", e);
	return other;
}

/* CHECK stops the guest with status 1 and a FAIL line when cond is false. */
#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			printf("FAIL %s:%d: %s (errno=%s)\n", __FILE__,      \
			       __LINE__, #cond, errname(errno));             \
			fflush(stdout);                                      \
			exit(1);                                             \
		}                                                            \
	} while (0)

/* say prints a line and flushes stdout at once: used right before a guest
 * deliberately dies by a signal, so the line is not lost in a buffer. */
static inline void say(const char *line)
{
	fputs(line, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

#endif
