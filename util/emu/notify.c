// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Notifiers: connected unix datagram socket pairs, one end per side.
 * Both hypervisor implementations hand the provider such fds.  See hv.h.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "util/hv.h"

int hv_notify_pair(int *guest_fd, int *backend_fd)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		return errno;
	*guest_fd = sv[0];
	*backend_fd = sv[1];
	return 0;
}

int hv_notify_signal(int fd)
{
	char one = 1;

	if (send(fd, &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
		return 0;
	/* A full queue already holds a pending signal. */
	return (errno == EAGAIN || errno == ENOBUFS) ? 0 : errno;
}

uint64_t hv_notify_drain(int fd)
{
	char buf[64];
	uint64_t n = 0;
	ssize_t r;

	while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		n++;
	return n;
}

int hv_notify_wait(int fd)
{
	char buf[64];
	ssize_t r;

	do {
		r = recv(fd, buf, sizeof(buf), 0);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno;
	return r == 0 ? EPIPE : 0;
}

int hv_notify_check(int fd)
{
	int type = 0, domain = 0;
	socklen_t len = sizeof(int);
	struct stat st;

	if (fstat(fd, &st) || !S_ISSOCK(st.st_mode))
		return EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    type != SOCK_DGRAM)
		return EINVAL;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) ||
	    domain != AF_UNIX)
		return EINVAL;
	return 0;
}
