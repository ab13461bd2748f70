// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Embedded emulated hypervisor: unix sockets, memfd shared memory, eventfd
 * notifications.  See hv.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
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

/* ------------------------------------------------------------------ */

/* memfd of len bytes, sealed so that it can never shrink or grow. */
static int shm_create(const char *name, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, len) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

const struct hv_shm_ops *hv_guest_shm_ops;

int hv_shm_alloc(struct hv_shm *shm, size_t len, const char *name)
{
	int fd;
	void *va;

	if (hv_guest_shm_ops)
		return hv_guest_shm_ops->alloc(shm, len, name);
	shm->xen = NULL;
	fd = shm_create(name, len);
	if (fd < 0)
		return -fd;
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (va == MAP_FAILED) {
		int err = errno;

		close(fd);
		return err;
	}
	shm->va = va;
	shm->len = len;
	shm->fd = fd;
	return 0;
}

/* A piece of the range being adopted, with the protection to keep. */
struct adopt_piece {
	uintptr_t lo, hi;
	int prot;
};

#define ADOPT_MAX_PIECES 64

/*
 * Split [start, end) along the process's mappings.  Only private mappings
 * (anonymous, heap, stack, private file COW pages) and earlier MR shares
 * (memfd "xenib-mr") may be re-backed: a shared file mapping would lose its
 * file semantics and queue memory (memfd "xenib-ring...") is already shared
 * with the backend.  Returns the number of pieces or -errno.
 */
static int adopt_split(uintptr_t start, uintptr_t end,
		       struct adopt_piece *pc, int max)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	uintptr_t covered = start;
	int n = 0, ret = -EFAULT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[5], path[256] = "";

		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %255[^\n]", &lo, &hi,
			   perms, path) < 3)
			continue;
		if (hi <= covered || lo >= end)
			continue;
		if (lo > covered)
			break;			/* hole */
		if (perms[3] == 's' && strncmp(path, "/memfd:xenib-mr", 15)) {
			ret = -EINVAL;
			goto out;
		}
		if (perms[0] != 'r')
			goto out;		/* -EFAULT */
		if (n == max) {
			ret = -ENOMEM;
			goto out;
		}
		pc[n].lo = covered;
		pc[n].hi = hi < end ? hi : end;
		pc[n].prot = PROT_READ | (perms[1] == 'w' ? PROT_WRITE : 0);
		covered = pc[n].hi;
		n++;
		if (covered >= end) {
			ret = n;
			goto out;
		}
	}
out:
	fclose(f);
	return ret;
}

/*
 * Registration is page granular, so the pages copied usually extend past
 * the application's allocation (ibv_rc_pingpong -s 1 registers a 1-byte
 * buffer) into other heap objects that must survive the re-backing.  Copy
 * them with plain loads, which sanitizers do not instrument (they would
 * flag the bytes around the buffer as out of bounds); volatile keeps the
 * compiler from turning the loop back into an intercepted memcpy().
 */
__attribute__((no_sanitize("address", "undefined")))
static int adopt_copy(int fd, const struct adopt_piece *pc, int n,
		      uintptr_t start, size_t len)
{
	volatile uint64_t *dst;
	int i;

	for (i = 0; i < n; i++)
		if (!(pc[i].prot & PROT_READ))
			return EFAULT;
	dst = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (dst == MAP_FAILED)
		return errno;
	for (i = 0; i < n; i++) {
		const volatile uint64_t *src = (const uint64_t *)pc[i].lo;
		size_t k, off = (pc[i].lo - start) / 8;

		for (k = 0; k < (pc[i].hi - pc[i].lo) / 8; k++)
			dst[off + k] = src[k];
	}
	munmap((void *)dst, len);
	return 0;
}

int hv_shm_adopt(struct hv_shm *shm, void *addr, size_t len)
{
	struct adopt_piece pc[ADOPT_MAX_PIECES];
	uintptr_t start = (uintptr_t)addr;
	int n, i, fd, err;

	if (hv_guest_shm_ops)
		return hv_guest_shm_ops->adopt(shm, addr, len);
	shm->xen = NULL;

	if ((start | len) & 4095u || !len)
		return EINVAL;
	n = adopt_split(start, start + len, pc, ADOPT_MAX_PIECES);
	if (n < 0)
		return -n;
	fd = shm_create("xenib-mr", len);
	if (fd < 0)
		return -fd;
	err = adopt_copy(fd, pc, n, start, len);
	if (err) {
		close(fd);
		return err;
	}
	/* Same address, same contents and protections, now shareable pages. */
	for (i = 0; i < n; i++) {
		void *va = mmap((void *)pc[i].lo, pc[i].hi - pc[i].lo,
				pc[i].prot, MAP_SHARED | MAP_FIXED, fd,
				pc[i].lo - start);

		if (va == MAP_FAILED) {
			err = errno;
			close(fd);
			return err;
		}
	}
	shm->va = addr;
	shm->len = len;
	shm->fd = fd;
	return 0;
}

void hv_shm_release(struct hv_shm *shm, int unmap)
{
	if (shm->xen && hv_guest_shm_ops) {
		hv_guest_shm_ops->release(shm, unmap);
		return;
	}
	if (unmap && shm->va)
		munmap(shm->va, shm->len);
	if (shm->fd >= 0)
		close(shm->fd);
	shm->va = NULL;
	shm->fd = -1;
}

/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */

int hv_msg_send(int sock, const void *buf, size_t len, int pass_fd)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (pass_fd >= 0) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	return (size_t)n == len ? 0 : EIO;
}

ssize_t hv_msg_recv(int sock, void *buf, size_t max, int *fd_out)
{
	struct iovec iov = { .iov_base = buf, .iov_len = max };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} cbuf;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	*fd_out = -1;
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t nfd, i;
		int fds[4];

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfd > 4)
			nfd = 4;
		memcpy(fds, CMSG_DATA(cm), nfd * sizeof(int));
		for (i = 0; i < nfd; i++) {
			if (*fd_out < 0)
				*fd_out = fds[i];
			else
				close(fds[i]);	/* only one fd per message */
		}
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		if (*fd_out >= 0)
			close(*fd_out);
		*fd_out = -1;
		return -EMSGSIZE;
	}
	return n;
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

int hv_backend_check_shm(int fd, uint64_t offset, size_t len)
{
	struct stat st;
	int seals;

	/*
	 * Only a memfd sealed against shrinking is safe to map: a guest that
	 * could truncate it would make the backend fault (SIGBUS) later.
	 */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return EINVAL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return EINVAL;
	if ((offset | len) & 4095u || !len ||
	    offset > (uint64_t)st.st_size || len > (uint64_t)st.st_size - offset)
		return EINVAL;
	return 0;
}

void *hv_backend_map(int fd, uint64_t offset, size_t len)
{
	void *va;
	int err = hv_backend_check_shm(fd, offset, len);

	if (err) {
		errno = err;
		return NULL;
	}
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
	return va == MAP_FAILED ? NULL : va;
}

int hv_backend_map_fixed(void *at, int fd, uint64_t offset, size_t len)
{
	void *va = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			fd, offset);

	return va == MAP_FAILED ? errno : 0;
}

void hv_backend_unmap(void *va, size_t len)
{
	if (va)
		munmap(va, len);
}
