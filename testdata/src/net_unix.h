/* Shared helpers for the net_unix_*.c guests (AF_UNIX sockets): proc.h's
 * cases and out(), and sres(), res() with the socket errno names. */
#ifndef CMAEMU_NET_UNIX_H
#define CMAEMU_NET_UNIX_H

#include "proc.h"
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/* serr names errno values, the socket ones included. */
static inline const char *serr(int e)
{
	switch (e) {
	case ENOTSOCK: return "ENOTSOCK";
	case EDESTADDRREQ: return "EDESTADDRREQ";
	case EMSGSIZE: return "EMSGSIZE";
	case EPROTOTYPE: return "EPROTOTYPE";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EADDRINUSE: return "EADDRINUSE";
	case ECONNRESET: return "ECONNRESET";
	case EISCONN: return "EISCONN";
	case ENOTCONN: return "ENOTCONN";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ENOBUFS: return "ENOBUFS";
	case EDOM: return "EDOM";
	}
	return perr(e);
}

/* sres is res() with serr(). */
static inline const char *sres(long r)
{
	static char buf[8][48];
	static int next;
	char *b = buf[next++ & 7];
	if (r < 0)
		snprintf(b, sizeof buf[0], "%ld/%s", r, serr(errno));
	else
		snprintf(b, sizeof buf[0], "%ld", r);
	return b;
}

/* pollev names the poll events set in ev. */
static inline const char *pollev(int ev)
{
	static char buf[4][96];
	static int next;
	char *b = buf[next++ & 3];
	b[0] = 0;
	static const struct { int bit; const char *name; } names[] = {
		{POLLIN, "IN"}, {POLLPRI, "PRI"}, {POLLOUT, "OUT"}, {POLLERR, "ERR"},
		{POLLHUP, "HUP"}, {POLLNVAL, "NVAL"}, {POLLRDHUP, "RDHUP"},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (ev & names[i].bit) {
			if (b[0])
				strcat(b, "|");
			strcat(b, names[i].name);
		}
	if (!b[0])
		strcpy(b, "0");
	return b;
}

/* revents polls fd once for everything and returns what is ready. */
static inline int revents(int fd)
{
	struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, 0};
	PCHECK(poll(&p, 1, 0) >= 0);
	return p.revents;
}

/* unaddr fills a sockaddr_un with path (abstract: a leading NUL and the
 * rest of name) and returns its length. */
static inline socklen_t unaddr(struct sockaddr_un *a, const char *name, int abstract)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	size_t n = strlen(name);
	if (abstract) {
		memcpy(a->sun_path + 1, name, n);
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	}
	memcpy(a->sun_path, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

static inline const char *typename(int type)
{
	switch (type) {
	case SOCK_STREAM: return "stream";
	case SOCK_DGRAM: return "dgram";
	case SOCK_SEQPACKET: return "seqpacket";
	}
	return "?";
}

#endif
