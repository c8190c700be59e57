/*
 * sock_diag's exact lookup of one TCP socket (peer.h). The kernel finds it
 * by its four ends in its established hash (O(1)); reading /proc/net/tcp
 * would walk every socket of the host.
 */
#include "peer.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

/* Whether the kernel's answer `m` is the socket asked for: the same ends
 * (inet_lookup falls back to a listener on the local port, whose remote
 * end is 0), an IPv4 one possibly as a v4-mapped IPv6 socket. */
static int same_ends(const struct jail_tcp_ends *q, const struct inet_diag_msg *m)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const uint8_t *src = (const uint8_t *)m->id.idiag_src, *dst = (const uint8_t *)m->id.idiag_dst;
	if (ntohs(m->id.idiag_sport) != q->local_port || ntohs(m->id.idiag_dport) != q->remote_port)
		return 0;
	if (q->family == AF_INET6)
		return m->idiag_family == AF_INET6 && !memcmp(src, q->local, 16) && !memcmp(dst, q->remote, 16);
	if (m->idiag_family == AF_INET)
		return !memcmp(src, q->local, 4) && !memcmp(dst, q->remote, 4);
	return m->idiag_family == AF_INET6 && !memcmp(src, mapped, 12) && !memcmp(src + 12, q->local, 4) &&
	       !memcmp(dst, mapped, 12) && !memcmp(dst + 12, q->remote, 4);
}

int jail_tcp_owner(const struct jail_tcp_ends *q, struct jail_tcp_peer *out, struct jail_error *err)
{
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.h.nlmsg_flags = NLM_F_REQUEST; /* no NLM_F_DUMP: one socket, by its ends */
	req.h.nlmsg_seq = 1;
	req.r.sdiag_family = (uint8_t)q->family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = ~0u;
	req.r.id.idiag_sport = htons(q->local_port);
	req.r.id.idiag_dport = htons(q->remote_port);
	memcpy(req.r.id.idiag_src, q->local, q->family == AF_INET6 ? 16 : 4);
	memcpy(req.r.id.idiag_dst, q->remote, q->family == AF_INET6 ? 16 : 4);
	req.r.id.idiag_cookie[0] = req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return jail_fail(err, "peer", "socket", NULL);
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return jail_fail(err, "peer", "sendto", NULL);
	}
	/* One answer: the socket, or an error (ENOENT: none). */
	union {
		struct nlmsghdr h;
		char bytes[8192];
	} buf;
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, &buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return jail_fail(err, "peer", "recvfrom", NULL);
		}
		if (from.nl_pid != 0)
			continue; /* not the kernel's */
		close(fd);
		for (struct nlmsghdr *h = &buf.h; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != 1)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
				int e = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
				if (e == ENOENT)
					return 0;
				errno = e ? e : EPROTO;
				return jail_fail(err, "peer", "sock_diag", NULL);
			}
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
				const struct inet_diag_msg *m = NLMSG_DATA(h);
				if (!same_ends(q, m))
					return 0;
				out->uid = m->idiag_uid;
				out->inode = m->idiag_inode;
				out->state = m->idiag_state;
				return 1;
			}
		}
		errno = EPROTO;
		return jail_fail(err, "peer", "sock_diag", NULL);
	}
}
