/* net_nl_ifaddrs: the network interfaces as the C library sees them.
 * getifaddrs() and if_nameindex() (both over NETLINK_ROUTE), the SIOCGIF*
 * ioctls on a UDP socket, if_nametoindex/if_indextoname, and a raw
 * NETLINK_ROUTE socket: bind and nl_pid, an RTM_GETLINK dump with its
 * sequence numbers and NLMSG_DONE, NLMSG_ERROR for a type the kernel does
 * not have, an acknowledged NLMSG_NOOP, and protocols that do not exist.
 * Only facts that hold on any host are printed ("lo" exists with
 * 127.0.0.1, UP|LOOPBACK; the views agree with each other). Exit 0. */
#define _GNU_SOURCE
#include "net.h"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static const char *yes(int c) { return c ? "yes" : "no"; }

/* rc formats a call's result: "N", or "-1 ERRNO" (errno read at once,
 * before anything else can change it). */
#define rc(call)                                                             \
	({                                                                   \
		static char b_[4][48];                                       \
		static int i_;                                               \
		errno = 0;                                                   \
		long r_ = (call);                                            \
		char *p_ = b_[i_++ & 3];                                     \
		if (r_ < 0)                                                  \
			snprintf(p_, 48, "%ld %s", r_, nerr(errno));         \
		else                                                         \
			snprintf(p_, 48, "%ld", r_);                         \
		p_;                                                          \
	})

/* The netlink ABI (linux/netlink.h, linux/rtnetlink.h), written out here
 * because musl's headers do not include the kernel's. */
struct sockaddr_nl {
	unsigned short nl_family, nl_pad;
	unsigned nl_pid, nl_groups;
};
struct nlmsghdr {
	unsigned nlmsg_len;
	unsigned short nlmsg_type, nlmsg_flags;
	unsigned nlmsg_seq, nlmsg_pid;
};
struct nlmsgerr {
	int error;
	struct nlmsghdr msg;
};
struct rtgenmsg {
	unsigned char rtgen_family;
};
#define NETLINK_ROUTE 0
#define NLMSG_NOOP 1
#define NLMSG_DONE 3
#define NLM_F_REQUEST 1
#define NLM_F_ACK 4
#define NLM_F_DUMP 0x300
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define NLMSG_ALIGN(n) (((n) + 3) & ~3u)
#define NLMSG_HDRLEN ((int)NLMSG_ALIGN(sizeof(struct nlmsghdr)))
#define NLMSG_LENGTH(n) ((n) + NLMSG_HDRLEN)
#define NLMSG_DATA(h) ((void *)((char *)(h) + NLMSG_HDRLEN))

/* ifaddrs_view checks getifaddrs against if_nameindex and the ioctls. */
static void ifaddrs_view(void)
{
	struct ifaddrs *ifa;
	CHECK(getifaddrs(&ifa) == 0);
	int lo_inet = 0, lo_packet = 0, lo_flags = 0, lo_mask = 0;
	int inet = 0, inet_ok = 0, packet = 0, packet_named = 0;
	struct if_nameindex *ni = if_nameindex();
	CHECK(ni != NULL);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(fd >= 0);
	for (struct ifaddrs *p = ifa; p; p = p->ifa_next) {
		if (!p->ifa_addr)
			continue;
		int family = p->ifa_addr->sa_family;
		int is_lo = strcmp(p->ifa_name, "lo") == 0;
		if (family == AF_PACKET) {
			packet++;
			for (struct if_nameindex *q = ni; q->if_index; q++)
				packet_named += strcmp(q->if_name, p->ifa_name) == 0;
			lo_packet += is_lo;
		}
		if (family != AF_INET)
			continue;
		inet++;
		struct sockaddr_in *sin = (struct sockaddr_in *)p->ifa_addr;
		struct ifreq r = {0};
		strncpy(r.ifr_name, p->ifa_name, IFNAMSIZ - 1);
		int ok = ioctl(fd, SIOCGIFFLAGS, &r) == 0 && (unsigned short)r.ifr_flags == (p->ifa_flags & 0xffff);
		/* SIOCGIFADDR gives the interface's first address, which
		 * getifaddrs lists too. */
		int first = 0;
		if (ioctl(fd, SIOCGIFADDR, &r) == 0) {
			struct sockaddr_in *ia = (struct sockaddr_in *)&r.ifr_addr;
			for (struct ifaddrs *q = ifa; q; q = q->ifa_next)
				if (q->ifa_addr && q->ifa_addr->sa_family == AF_INET && strcmp(q->ifa_name, p->ifa_name) == 0 &&
				    ((struct sockaddr_in *)q->ifa_addr)->sin_addr.s_addr == ia->sin_addr.s_addr)
					first = 1;
		}
		inet_ok += ok && first;
		if (is_lo && sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
			lo_inet++;
			lo_flags = (p->ifa_flags & (IFF_UP | IFF_LOOPBACK)) == (IFF_UP | IFF_LOOPBACK);
			lo_mask = ((struct sockaddr_in *)p->ifa_netmask)->sin_addr.s_addr == htonl(0xff000000);
		}
	}
	printf("getifaddrs: lo 127.0.0.1 %d, UP|LOOPBACK %s, netmask 255.0.0.0 %s, lo AF_PACKET %d\n", lo_inet,
	       yes(lo_flags), yes(lo_mask), lo_packet);
	printf("getifaddrs: IPv4 entries agreeing with SIOCGIFFLAGS/SIOCGIFADDR: %s\n", yes(inet > 0 && inet_ok == inet));
	int n = 0, idx_ok = 0;
	for (struct if_nameindex *q = ni; q->if_index; q++) {
		n++;
		char name[IF_NAMESIZE];
		struct ifreq r = {0};
		strncpy(r.ifr_name, q->if_name, IFNAMSIZ - 1);
		int by_ioctl = ioctl(fd, SIOCGIFINDEX, &r) == 0 && (unsigned)r.ifr_ifindex == q->if_index;
		struct ifreq r2 = {.ifr_ifindex = q->if_index};
		int by_name = ioctl(fd, SIOCGIFNAME, &r2) == 0 && strcmp(r2.ifr_name, q->if_name) == 0;
		idx_ok += if_nametoindex(q->if_name) == q->if_index && if_indextoname(q->if_index, name) &&
			  strcmp(name, q->if_name) == 0 && by_ioctl && by_name;
	}
	printf("if_nameindex: one AF_PACKET entry each: %s, indexes agree: %s, lo index %s\n",
	       yes(packet == n && packet_named == n), yes(idx_ok == n), yes(if_nametoindex("lo") > 0));
	printf("if_nametoindex(\"nosuch0\"): %s\n", rc((long)if_nametoindex("nosuch0")));
	if_freenameindex(ni);
	freeifaddrs(ifa);

	struct ifreq r = {0};
	strcpy(r.ifr_name, "lo");
	printf("SIOCGIFMTU lo: %s\n", yes(ioctl(fd, SIOCGIFMTU, &r) == 0 && r.ifr_mtu > 0));
	CHECK(ioctl(fd, SIOCGIFNETMASK, &r) == 0);
	printf("SIOCGIFNETMASK lo: %s\n", inet_ntoa(((struct sockaddr_in *)&r.ifr_netmask)->sin_addr));
	CHECK(ioctl(fd, SIOCGIFHWADDR, &r) == 0);
	printf("SIOCGIFHWADDR lo: family %d\n", r.ifr_hwaddr.sa_family);
	strcpy(r.ifr_name, "nosuch0");
	printf("SIOCGIFFLAGS nosuch0: %s\n", rc(ioctl(fd, SIOCGIFFLAGS, &r)));

	struct ifconf conf = {0};
	CHECK(ioctl(fd, SIOCGIFCONF, &conf) == 0);
	int need = conf.ifc_len;
	struct ifreq reqs[64];
	conf.ifc_len = sizeof reqs;
	conf.ifc_req = reqs;
	CHECK(ioctl(fd, SIOCGIFCONF, &conf) == 0);
	int lo_conf = 0;
	for (int i = 0; i < conf.ifc_len / (int)sizeof reqs[0]; i++)
		lo_conf += strcmp(reqs[i].ifr_name, "lo") == 0 &&
			   ((struct sockaddr_in *)&reqs[i].ifr_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
	printf("SIOCGIFCONF: length needed = length filled %s, a multiple of struct ifreq %s, lo 127.0.0.1 %d\n",
	       yes(need == conf.ifc_len), yes(conf.ifc_len % sizeof reqs[0] == 0), lo_conf);
	conf.ifc_len = sizeof reqs[0] + 1;
	CHECK(ioctl(fd, SIOCGIFCONF, &conf) == 0);
	printf("SIOCGIFCONF with room for one: %s\n", yes(conf.ifc_len == sizeof reqs[0]));
	close(fd);
}

/* nl_request sends one request with an rtgenmsg body. */
static void nl_request(int fd, int type, int flags, int seq)
{
	struct {
		struct nlmsghdr h;
		struct rtgenmsg g;
	} req = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtgenmsg)), .nlmsg_type = type,
		       .nlmsg_flags = flags, .nlmsg_seq = seq},
		 .g = {.rtgen_family = AF_UNSPEC}};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	CHECK(sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) ==
	      (ssize_t)req.h.nlmsg_len);
}

static void raw_netlink(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	CHECK(fd >= 0);
	struct sockaddr_nl a = {.nl_family = AF_NETLINK};
	socklen_t len = sizeof a;
	CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	printf("netlink: nl_pid before bind %u, length %d\n", a.nl_pid, (int)len);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	printf("netlink: nl_pid is the pid: %s\n", yes(a.nl_pid == (unsigned)getpid()));
	unsigned pid = a.nl_pid;
	int fd2 = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
	a.nl_pid = pid;
	printf("netlink: bind a used nl_pid: %s\n", rc(bind(fd2, (struct sockaddr *)&a, sizeof a)));
	close(fd2);

	nl_request(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 4242);
	static char buf[65536];
	int links = 0, seq_ok = 1, done = 0;
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		CHECK(n > 0);
		for (char *p = buf; p + sizeof(struct nlmsghdr) <= buf + n;) {
			struct nlmsghdr *h = (struct nlmsghdr *)p;
			CHECK(h->nlmsg_len >= sizeof *h && p + h->nlmsg_len <= buf + n);
			p += NLMSG_ALIGN(h->nlmsg_len);
			seq_ok &= h->nlmsg_seq == 4242 && h->nlmsg_pid == pid;
			if (h->nlmsg_type == NLMSG_DONE)
				done = 1;
			else if (h->nlmsg_type == RTM_NEWLINK)
				links++;
		}
	}
	struct if_nameindex *ni = if_nameindex();
	int n = 0;
	while (ni[n].if_index)
		n++;
	if_freenameindex(ni);
	printf("netlink: RTM_GETLINK dump: as many links as if_nameindex %s, seq and pid %s, ends with DONE\n",
	       yes(links == n), yes(seq_ok));

	nl_request(fd, 200, NLM_F_REQUEST, 7);
	ssize_t r = recv(fd, buf, sizeof buf, 0);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct nlmsgerr *e = NLMSG_DATA(h);
	printf("netlink: type 200: length %zd, type %d, seq %u, error %s, request echoed %s\n", r, h->nlmsg_type,
	       h->nlmsg_seq, nerr(-e->error), yes(e->msg.nlmsg_type == 200 && e->msg.nlmsg_seq == 7));
	nl_request(fd, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 8);
	r = recv(fd, buf, sizeof buf, 0);
	printf("netlink: NOOP with NLM_F_ACK: length %zd, type %d, flags %#x, error %d\n", r, h->nlmsg_type,
	       h->nlmsg_flags, e->error);
	printf("netlink: nothing more: %s\n", rc(recv(fd, buf, sizeof buf, MSG_DONTWAIT)));
	close(fd);

	printf("netlink: protocol 31: %s\n", rc(socket(AF_NETLINK, SOCK_RAW, 31)));
	printf("netlink: protocol 32: %s\n", rc(socket(AF_NETLINK, SOCK_RAW, 32)));
	printf("netlink: SOCK_STREAM: %s\n", rc(socket(AF_NETLINK, SOCK_STREAM, 0)));
	printf("netlink: SOCK_SEQPACKET NETLINK_ROUTE: %s\n", rc(socket(AF_NETLINK, SOCK_SEQPACKET, 0)));
}

int main(void)
{
	ifaddrs_view();
	raw_netlink();
	return 0;
}
