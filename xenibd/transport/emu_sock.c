// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The sockets an emulated guest hands xenibd.  A notifier end is any fd
 * the guest chooses to send: unless checked, it could be a datagram socket
 * connected to another process's socket (/dev/log, a daemon's control
 * socket), and xenibd would then write there with its own credentials.
 * Only the end of a socketpair the guest's own process made is taken: an
 * unnamed socket whose peer is unnamed too (connect() needs an address, so
 * nothing else is).  A guest that keeps a copy of the fd can still
 * connect() it elsewhere later, so the peer is looked at again before
 * every write (xd_emu_peer_state).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "xenibd/transport/emu_sock.h"

/* An AF_UNIX address with no name: just the family (unnamed socket). */
static bool unnamed(const struct sockaddr_un *sa, socklen_t len)
{
	return len == offsetof(struct sockaddr_un, sun_path) &&
	       sa->sun_family == AF_UNIX;
}

int xd_emu_notify_check(int fd, pid_t pid, const char **why)
{
	struct sockaddr_un sa;
	struct ucred cred;
	socklen_t len;
	int v = 0;
	struct stat st;

	*why = "not a socket";
	if (fstat(fd, &st) || !S_ISSOCK(st.st_mode))
		return EINVAL;
	*why = "not an AF_UNIX datagram socket";
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) || v != AF_UNIX)
		return EINVAL;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) || v != SOCK_DGRAM)
		return EINVAL;
	*why = "the socket has an address";
	len = sizeof(sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &len) || !unnamed(&sa, len))
		return EINVAL;
	*why = "not connected to the other end of a socketpair";
	if (xd_emu_peer_state(fd))
		return EINVAL;
	*why = "the socketpair was made by another process";
	len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    cred.pid != pid)
		return EINVAL;
	*why = NULL;
	return 0;
}

int xd_emu_peer_state(int fd)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	if (getpeername(fd, (struct sockaddr *)&sa, &len))
		return ENOTCONN;
	return unnamed(&sa, len) ? 0 : EADDRINUSE;
}

uint64_t xd_emu_drain(int fd, unsigned int max)
{
	char buf[64];
	uint64_t n = 0;

	while (n < max && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n++;
	return n;
}
