// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Embedded emulated hypervisor: where a device's xenibd listens (a unix
 * socket in the run directory) and both ends of reaching it.  See hv.h.
 */
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "util/hv.h"

#ifndef XENIB_RUN_DIR
#define XENIB_RUN_DIR "/run/xenib"
#endif

const char *hv_emu_dir(void)
{
	const char *d = getenv("XENIB_EMU_DIR");

	return (d && *d) ? d : XENIB_RUN_DIR;
}

int hv_emu_sock_path(char *buf, size_t len, const char *dir,
		     const char *devname)
{
	int n = snprintf(buf, len, "%s/%s.sock", dir, devname);

	return (n < 0 || (size_t)n >= len) ? ENAMETOOLONG : 0;
}

int hv_emu_node_link(char *buf, size_t len, const char *dir,
		     const char *devname)
{
	int n = snprintf(buf, len, "%s/%s.node", dir, devname);

	return (n < 0 || (size_t)n >= len) ? ENAMETOOLONG : 0;
}

void hv_emu_guest_name(char *buf, size_t len)
{
	const char *name = getenv("XENIB_EMU_GUEST");

	if (name && *name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "pid%d", (int)getpid());
}

int hv_emu_connect(const char *devname)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	err = hv_emu_sock_path(sa.sun_path, sizeof(sa.sun_path), hv_emu_dir(),
			       devname);
	if (err)
		return -err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

int hv_emu_listen(const char *dir, const char *devname)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	err = hv_emu_sock_path(sa.sun_path, sizeof(sa.sun_path), dir, devname);
	if (err)
		return -err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(sa.sun_path, 0666) || listen(fd, 64)) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

int hv_emu_peer_pid(int sock, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return errno;
	*pid = cred.pid;
	return 0;
}

int hv_emu_peer_creds(int sock, struct hv_peer *who)
{
	gid_t groups[32];
	struct ucred cred;
	socklen_t len = sizeof(cred), glen = sizeof(groups);
	unsigned int i;

	memset(who, 0, sizeof(*who));
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return errno;
	who->known = true;
	who->uid = cred.uid;
	who->gid = cred.gid;
	/* More than 32 groups: the first 32 count (ERANGE: none). */
	if (!getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups, &glen))
		for (i = 0; i < glen / sizeof(gid_t) && i < 32; i++)
			who->groups[who->ngroups++] = groups[i];
	return 0;
}
