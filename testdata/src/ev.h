/* ev.h: what the ev_* guests share. */
#ifndef CMAEMU_EV_H
#define CMAEMU_EV_H
#include "guest.h"

/* SHOW prints a call's result, and its errno name when it fails. */
#define SHOW(label, expr)                                                              \
	do {                                                                           \
		errno = 0;                                                             \
		long r_ = (long)(expr);                                                \
		printf("%s: %ld %s\n", label, r_, r_ < 0 ? errname(errno) : "");      \
	} while (0)

#endif
