/*
 * Whose socket the other end of a TCP connection on this host is: what the
 * egress proxy asks of a connection to it before serving it (peer.c). No
 * policy here: the caller decides what the owner may do.
 */
#ifndef JAIL_PEER_H
#define JAIL_PEER_H

#include <stdint.h>

#include "jail.h"

/* A TCP socket, named by its own ends (addresses in network order; an
 * IPv4 address in the first 4 bytes). */
struct jail_tcp_ends {
	int family; /* AF_INET or AF_INET6 */
	uint8_t local[16];
	uint8_t remote[16];
	uint16_t local_port, remote_port; /* host order */
};

struct jail_tcp_peer {
	uint32_t uid;   /* its owner (the fsuid that made it, or a chown) */
	uint32_t inode; /* its socket inode; 0: no descriptor holds it (closed,
			 * TIME_WAIT) */
	uint8_t state;  /* TCP_ESTABLISHED, ... (netinet/tcp.h) */
};

/* Looks the socket `q` up in this process's network namespace through
 * sock_diag (an exact lookup, not a dump of all sockets). A v4-mapped IPv6
 * socket answers for its IPv4 ends. Returns 1 with *out filled in, 0 when
 * no such socket exists (only its exact ends count: never a listener on
 * the local port), or -1 with err filled in (step "peer"). */
int jail_tcp_owner(const struct jail_tcp_ends *q, struct jail_tcp_peer *out, struct jail_error *err);

#endif
