/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Hypervisor layer (DESIGN.md section 4): what the provider and xenibd need
 * from the hypervisor, behind one interface.  This file implements the
 * embedded emulation: a local xenibd reached through a unix socket in a run
 * directory, memfd pages as shared memory, eventfds as event channels.
 * The real-Xen implementation (grant tables, event channels, xenstore) plugs
 * in behind the same functions.
 */
#ifndef XENIB_HV_H
#define XENIB_HV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Run directory of the emulated hypervisor: $XENIB_EMU_DIR or the default. */
const char *hv_emu_dir(void);

/* Socket path of device devname ("xenib0") in dir; returns 0 or errno. */
int hv_emu_sock_path(char *buf, size_t len, const char *dir,
		     const char *devname);

/* ------------------------------------------------------------------ */
/* Shared memory (guest side)                                          */

struct hv_shm {
	void *va;		/* where the guest sees the pages */
	size_t len;		/* bytes, page multiple */
	int fd;			/* emulation: memfd backing the pages, else -1 */
	struct hv_xen_grant *xen;	/* real Xen: grant state (hv_xen.h) */
};

/*
 * Guest-side shared-memory implementation.  NULL (the default) is the
 * emulation; util/hv_xen_grant.c installs the grant-table one when a
 * process connects to a device over real Xen.
 */
struct hv_shm_ops {
	int (*alloc)(struct hv_shm *shm, size_t len, const char *name);
	int (*adopt)(struct hv_shm *shm, void *addr, size_t len);
	void (*release)(struct hv_shm *shm, int unmap);
};
extern const struct hv_shm_ops *hv_guest_shm_ops;

/*
 * New zero-filled shareable pages. Returns 0 or errno.  Emulation: the memfd
 * is sealed against shrinking so the backend can never fault on it.
 */
int hv_shm_alloc(struct hv_shm *shm, size_t len, const char *name);

/*
 * Re-back [addr, addr + len) (page aligned) with shareable pages, keeping the
 * contents and the virtual address.  Fails with EFAULT if part of the range
 * is not mapped and EINVAL if it cannot be made shareable.
 */
int hv_shm_adopt(struct hv_shm *shm, void *addr, size_t len);

/* Release the share; the guest mapping stays (adopted) or goes (alloc). */
void hv_shm_release(struct hv_shm *shm, int unmap);

/* ------------------------------------------------------------------ */
/* Notifications                                                       */

/*
 * A notifier is a pair of connected endpoints: the guest keeps one end (a
 * pollable fd handed to applications as channel/async fds) and passes the
 * other end to the backend in XENIB_CMD_BIND_NOTIFY.  Emulation: a unix
 * SOCK_DGRAM socketpair, so each side owns its own file description and
 * signals/drains with per-call MSG_DONTWAIT: a guest can never make the
 * backend block, and O_NONBLOCK set by an application on its end does not
 * leak to the backend (as it would with a shared eventfd).
 */
int hv_notify_pair(int *guest_fd, int *backend_fd);
/* Signal the other end; never blocks (a full queue means one is pending). */
int hv_notify_signal(int fd);
/* Consume pending signals without blocking; returns how many. */
uint64_t hv_notify_drain(int fd);
/* Wait for one signal and consume it; honours O_NONBLOCK (EAGAIN). 0/errno */
int hv_notify_wait(int fd);
/* Backend: check that fd is a notifier endpoint (0 or EINVAL). */
int hv_notify_check(int fd);

/* ------------------------------------------------------------------ */
/* Control channel messages (both sides)                               */

/* Send one message with an optional fd (pass_fd < 0: none). 0 or errno. */
int hv_msg_send(int sock, const void *buf, size_t len, int pass_fd);

/*
 * Receive one message (at most max bytes) and at most one fd (*fd_out = -1
 * if none; extra fds are closed).  Returns the length, 0 on orderly
 * shutdown, or -errno.  A message longer than max is reported as -EMSGSIZE
 * (and consumed).
 */
ssize_t hv_msg_recv(int sock, void *buf, size_t max, int *fd_out);

/* Guest: connect to device devname of the emulated hypervisor. fd or -errno */
int hv_emu_connect(const char *devname);

/* Backend: listening socket for devname in dir. fd or -errno */
int hv_emu_listen(const char *dir, const char *devname);

/* Backend: identity of a connected guest process (for logs/accounting). */
int hv_emu_peer_pid(int sock, pid_t *pid);

/* Backend: map len bytes at offset of a guest-shared fd. NULL + errno. */
/* Backend: check a guest-shared fd (sealed memfd covering offset + len). */
int hv_backend_check_shm(int fd, uint64_t offset, size_t len);
void *hv_backend_map(int fd, uint64_t offset, size_t len);
/* Backend: map into a fixed place (MR views); 0 or errno. */
int hv_backend_map_fixed(void *at, int fd, uint64_t offset, size_t len);
void hv_backend_unmap(void *va, size_t len);

#endif /* XENIB_HV_H */
