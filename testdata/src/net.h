/* Helpers for the network guests (net_inet_*.c, net_nl_*.c): the names of
 * the network errors, and one line a call's result. Plain libc, glibc and
 * musl, x86-64 and i386. */
#ifndef CMAEMU_NET_H
#define CMAEMU_NET_H

#include "proc.h"

/* nerr is perr with the network errors. */
static inline const char *nerr(int e)
{
	switch (e) {
	case ECONNREFUSED: return "ECONNREFUSED";
	case EINPROGRESS: return "EINPROGRESS";
	case EALREADY: return "EALREADY";
	case EISCONN: return "EISCONN";
	case ENOTCONN: return "ENOTCONN";
	case EADDRINUSE: return "EADDRINUSE";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EDESTADDRREQ: return "EDESTADDRREQ";
	case EMSGSIZE: return "EMSGSIZE";
	}
	return perr(e);
}

/* say_r prints "what: N" or "what: -1 ERRNO" for a call's result (errno
 * must still be the call's). */
static inline void say_r(const char *what, long r)
{
	if (r < 0)
		out("%s: -1 %s\n", what, nerr(errno));
	else
		out("%s: %ld\n", what, r);
}

#endif
