/* net_inet_none: which socket families exist. AF_INET and AF_INET6
 * sockets of each type, then AF_UNIX and AF_NETLINK, and getifaddrs()
 * (over netlink) finding "lo". Natively and by default under cmaemu the
 * inet sockets exist; under `cmaemu run --net none` they fail with
 * EAFNOSUPPORT, as in a kernel built without IPv4 and IPv6, and the
 * others still work (tests/net_inet_test.go). Exit status 0. */
#include "guest.h"
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static void try(const char *name, int family, int type)
{
	errno = 0;
	int fd = socket(family, type, 0);
	int e = errno;
	printf("%s: %s\n", name, fd >= 0 ? "ok" : e == EAFNOSUPPORT ? "EAFNOSUPPORT" : errname(e));
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	try("AF_INET SOCK_STREAM", AF_INET, SOCK_STREAM);
	try("AF_INET SOCK_DGRAM", AF_INET, SOCK_DGRAM);
	try("AF_INET6 SOCK_STREAM", AF_INET6, SOCK_STREAM);
	try("AF_INET6 SOCK_DGRAM", AF_INET6, SOCK_DGRAM);
	try("AF_UNIX SOCK_STREAM", AF_UNIX, SOCK_STREAM);
	try("AF_NETLINK SOCK_RAW", AF_NETLINK, SOCK_RAW);
	struct ifaddrs *ifa;
	int lo = 0;
	CHECK(getifaddrs(&ifa) == 0);
	for (struct ifaddrs *p = ifa; p; p = p->ifa_next)
		lo |= strcmp(p->ifa_name, "lo") == 0;
	freeifaddrs(ifa);
	printf("getifaddrs finds lo: %s\n", lo ? "yes" : "no");
	return 0;
}
